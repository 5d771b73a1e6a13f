namespace DiskImage.Formats.Iso9660;

/// <summary>What a name in an ISO 9660 tree stands for.</summary>
public enum IsoNodeKind
{
    /// <summary>A regular file.</summary>
    File,
    /// <summary>A directory.</summary>
    Directory,
    /// <summary>A symbolic link (Rock Ridge only).</summary>
    Symlink,
}
