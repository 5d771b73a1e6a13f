namespace DiskImage.Formats;

/// <summary>What <c>qemu-img info</c> reports about one image file; property names map to its JSON fields.</summary>
public sealed record ImageInfo
{
    /// <summary><c>filename</c>: the path as it was given.</summary>
    public required string Filename { get; init; }

    /// <summary><c>format</c>: the driver name.</summary>
    public required string Format { get; init; }

    /// <summary><c>virtual-size</c>: guest-visible size in bytes.</summary>
    public required long VirtualSize { get; init; }

    /// <summary><c>actual-size</c>: bytes the file occupies on the host (allocated blocks).</summary>
    public long? ActualSize { get; init; }

    /// <summary><c>cluster-size</c>, for formats that have clusters.</summary>
    public int? ClusterSize { get; init; }

    /// <summary><c>encrypted</c>; qemu-img prints it only when true.</summary>
    public bool Encrypted { get; init; }

    /// <summary><c>dirty-flag</c>, for formats that have one.</summary>
    public bool? DirtyFlag { get; init; }

    /// <summary><c>backing-filename</c>: as stored in the image.</summary>
    public string? BackingFilename { get; init; }

    /// <summary><c>full-backing-filename</c>: resolved relative to the image.</summary>
    public string? FullBackingFilename { get; init; }

    /// <summary><c>backing-filename-format</c>.</summary>
    public string? BackingFilenameFormat { get; init; }

    /// <summary><c>snapshots</c>: internal snapshots, in table order.</summary>
    public IReadOnlyList<SnapshotInfo> Snapshots { get; init; } = [];

    /// <summary><c>format-specific</c>: details only one format has.</summary>
    public FormatSpecificInfo? FormatSpecific { get; init; }
}

/// <summary>One internal snapshot as <c>qemu-img info</c> and <c>snapshot -l</c> list it.</summary>
public sealed record SnapshotInfo
{
    /// <summary>The snapshot's ID, unique within the image (QEMU numbers them from 1).</summary>
    public required string Id { get; init; }
    /// <summary>The snapshot's tag.</summary>
    public required string Name { get; init; }
    /// <summary>Bytes of saved VM state (0 for a disk-only snapshot).</summary>
    public long VmStateSize { get; init; }
    /// <summary>When it was taken: seconds since the Unix epoch.</summary>
    public long DateSeconds { get; init; }
    /// <summary>Nanoseconds within <see cref="DateSeconds"/>.</summary>
    public long DateNanoseconds { get; init; }
    /// <summary>Guest clock at the snapshot, in nanoseconds (JSON splits it into vm-clock-sec/-nsec).</summary>
    public long VmClockNanoseconds { get; init; }
    /// <summary>Instruction count, or null when recording was off (stored as -1).</summary>
    public ulong? Icount { get; init; }
    /// <summary>Virtual disk size when the snapshot was taken.</summary>
    public long? DiskSize { get; init; }
}

/// <summary>Base of the <c>format-specific</c> object; <see cref="Type"/> is its <c>type</c> field.</summary>
public abstract record FormatSpecificInfo(string Type);
