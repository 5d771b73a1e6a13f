namespace DiskImage.IO;

/// <summary>The file types that matter to how an output is written.</summary>
public enum FileKind
{
    /// <summary>A regular file.</summary>
    Regular,
    /// <summary>A directory.</summary>
    Directory,
    /// <summary>A block device, written in place (it cannot be replaced by a rename).</summary>
    BlockDevice,
    /// <summary>A character device such as <c>/dev/null</c>.</summary>
    CharacterDevice,
    /// <summary>Anything else (FIFO, socket).</summary>
    Other,
}
