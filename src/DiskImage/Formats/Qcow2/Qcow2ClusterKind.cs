namespace DiskImage.Formats.Qcow2;

/// <summary>What a run of guest bytes maps to in one qcow2 layer.</summary>
internal enum Qcow2ClusterKind : byte
{
    /// <summary>Stored uncompressed at a host offset.</summary>
    Data,

    /// <summary>Reads as zeroes (zero flag or zero subclusters).</summary>
    Zero,

    /// <summary>Not allocated here: read from the backing file, or zeroes.</summary>
    Unallocated,

    /// <summary>One compressed cluster; the entry holds its host offset and size.</summary>
    Compressed,
}

/// <summary>
/// A run of guest bytes with one mapping. For <see cref="Qcow2ClusterKind.Data"/> the host bytes are
/// contiguous from <see cref="HostOffset"/>; <see cref="Copied"/> tells whether every cluster in the run
/// may be written in place (refcount 1).
/// </summary>
internal readonly record struct Qcow2Run(Qcow2ClusterKind Kind, long HostOffset, long Length, ulong Entry, bool Copied);
