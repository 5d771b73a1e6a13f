namespace DiskImage.Formats.Iso9660;

/// <summary>A file, directory or symbolic link in an ISO 9660 tree, with the best names and attributes the image offers.</summary>
public sealed record IsoNode
{
    /// <summary>Absolute path inside the image, "/" for the root.</summary>
    public required string Path { get; init; }

    /// <summary>The last path component ("" for the root).</summary>
    public required string Name { get; init; }

    /// <summary>File, directory or symbolic link.</summary>
    public required IsoNodeKind Kind { get; init; }

    /// <summary>File size in bytes (sum of all extents); a directory's extent size.</summary>
    public required long Size { get; init; }

    /// <summary>Where the file's bytes are, in order. Empty for empty files and symlinks.</summary>
    public required IReadOnlyList<IsoExtent> Extents { get; init; }

    /// <summary>POSIX permission and special bits (07777) from Rock Ridge, or null without Rock Ridge.</summary>
    public uint? Mode { get; init; }

    /// <summary>Owner from Rock Ridge, or null without Rock Ridge.</summary>
    public uint? Uid { get; init; }
    /// <summary>Group from Rock Ridge, or null without Rock Ridge.</summary>
    public uint? Gid { get; init; }

    /// <summary>Rock Ridge modification time, else the directory record's recording date.</summary>
    public DateTimeOffset? ModificationTime { get; init; }

    /// <summary>Rock Ridge access time, or null when the image has none.</summary>
    public DateTimeOffset? AccessTime { get; init; }

    /// <summary>Target of a symbolic link.</summary>
    public string? SymlinkTarget { get; init; }

    /// <summary>The content is zisofs-compressed (reported, not decompressed).</summary>
    public bool IsZisofs { get; init; }

    /// <summary>Nesting depth (root = 0).</summary>
    public int Depth { get; init; }

    /// <summary>For directories: image offset of the directory extent.</summary>
    internal long DirectoryOffset { get; init; }
}
