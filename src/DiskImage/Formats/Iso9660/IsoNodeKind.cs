namespace DiskImage.Formats.Iso9660;

/// <summary>What a name in an ISO 9660 tree stands for.</summary>
public enum IsoNodeKind
{
    File,
    Directory,
    Symlink,
}
