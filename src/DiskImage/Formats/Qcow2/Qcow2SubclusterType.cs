namespace DiskImage.Formats.Qcow2;

/// <summary>
/// What one (sub)cluster of guest space is, in QEMU's terms: the distinction between the plain and the
/// "alloc" variants (a host cluster is attached) decides whether block status reports a host offset.
/// </summary>
internal enum Qcow2SubclusterType : byte
{
    /// <summary>Data stored at a host offset.</summary>
    Normal,

    /// <summary>Compressed cluster: data, but no host offset a reader could use directly.</summary>
    Compressed,

    /// <summary>Reads as zeroes; no host cluster.</summary>
    ZeroPlain,

    /// <summary>Reads as zeroes; a host cluster is attached (preallocated zero cluster or zero subcluster).</summary>
    ZeroAlloc,

    /// <summary>Not allocated here (backing or zeroes); no host cluster.</summary>
    UnallocatedPlain,

    /// <summary>Not allocated here, though the cluster around it has a host cluster (extended L2).</summary>
    UnallocatedAlloc,
}

/// <summary>A run of guest bytes of one <see cref="Qcow2SubclusterType"/>; host offsets are contiguous when <see cref="HasHostOffset"/>.</summary>
internal readonly record struct Qcow2BlockStatus(Qcow2SubclusterType Type, long Length, long HostOffset)
{
    public bool HasHostOffset => Type is Qcow2SubclusterType.Normal or Qcow2SubclusterType.ZeroAlloc or Qcow2SubclusterType.UnallocatedAlloc;
}
