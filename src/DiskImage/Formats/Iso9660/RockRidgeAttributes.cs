namespace DiskImage.Formats.Iso9660;

/// <summary>What the Rock Ridge (RRIP) entries of one directory record say about a file.</summary>
internal sealed class RockRidgeAttributes
{
    /// <summary>Any Rock Ridge entry was present.</summary>
    public bool Present { get; set; }

    /// <summary>Alternate name from NM entries, joined across continuations.</summary>
    public string? Name { get; set; }

    /// <summary>NM marked the entry as "." or ".." (such names are not usable as file names).</summary>
    public bool NameIsSpecial { get; set; }

    /// <summary>POSIX st_mode from PX (file type and permission bits).</summary>
    public uint? Mode { get; set; }

    public uint? Links { get; set; }
    public uint? Uid { get; set; }
    public uint? Gid { get; set; }
    public uint? Inode { get; set; }

    public DateTimeOffset? Creation { get; set; }
    public DateTimeOffset? Modification { get; set; }
    public DateTimeOffset? Access { get; set; }
    public DateTimeOffset? AttributeChange { get; set; }

    /// <summary>Symbolic link target from SL entries.</summary>
    public string? SymlinkTarget { get; set; }

    /// <summary>RE: this directory was relocated here and is listed under its real parent via CL.</summary>
    public bool Relocated { get; set; }

    /// <summary>CL: this placeholder stands for a directory relocated to the given block.</summary>
    public uint? ChildLink { get; set; }

    /// <summary>PL: in a relocated directory's ".." entry, the block of the real parent.</summary>
    public uint? ParentLink { get; set; }

    /// <summary>ZF: the file content is zisofs-compressed; the value is the algorithm ("pz").</summary>
    public string? Compression { get; set; }

    /// <summary>Uncompressed size from ZF.</summary>
    public uint? UncompressedSize { get; set; }
}
