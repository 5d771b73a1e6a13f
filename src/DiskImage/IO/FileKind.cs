namespace DiskImage.IO;

/// <summary>The file types that matter to how an output is written.</summary>
public enum FileKind
{
    Regular,
    Directory,
    BlockDevice,
    CharacterDevice,
    Other,
}
