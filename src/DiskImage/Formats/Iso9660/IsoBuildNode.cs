namespace DiskImage.Formats.Iso9660;

/// <summary>A file, directory or link of the tree being built, with what layout assigns to it.</summary>
internal sealed class IsoBuildNode
{
    public required string Name { get; init; }
    public required IsoNodeKind Kind { get; init; }
    public IsoBuildNode? Parent { get; set; }
    public SortedDictionary<string, IsoBuildNode> Children { get; } = new(StringComparer.Ordinal);

    /// <summary>Host file the content is streamed from, or null for in-memory content.</summary>
    public string? HostPath { get; init; }
    public byte[]? Content { get; init; }
    public long Size { get; set; }

    /// <summary>Permission and special bits (07777).</summary>
    public uint Mode { get; set; }
    public uint Uid { get; set; }
    public uint Gid { get; set; }
    public DateTimeOffset ModificationTime { get; set; }
    public DateTimeOffset AccessTime { get; set; }
    public string? SymlinkTarget { get; init; }

    /// <summary>This node is the El Torito boot catalog (its data is the catalog sector).</summary>
    public bool IsBootCatalog { get; init; }

    // Layout results.
    public IsoNameMapper.IsoName IsoName { get; set; }
    public string JolietName { get; set; } = "";
    public List<IsoBuildNode> IsoOrder { get; set; } = [];
    public List<IsoBuildNode> JolietOrder { get; set; } = [];
    public uint DirectoryBlock { get; set; }
    public uint DirectorySize { get; set; }
    public uint JolietDirectoryBlock { get; set; }
    public uint JolietDirectorySize { get; set; }
    public ushort PathNumber { get; set; }
    public ushort JolietPathNumber { get; set; }
    public uint DataBlock { get; set; }

    /// <summary>Rock Ridge entries of this node's own record, of its "." record and (for the parent's attributes) its ".." record.</summary>
    public SuspChain? OwnSusp { get; set; }
    public SuspChain? SelfSusp { get; set; }
    public SuspChain? ParentSusp { get; set; }

    public string Path => Parent is null ? "/" : Parent.Parent is null ? "/" + Name : Parent.Path + "/" + Name;

    public int Depth => Parent is null ? 0 : Parent.Depth + 1;
}
