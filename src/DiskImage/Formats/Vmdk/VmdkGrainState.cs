namespace DiskImage.Formats.Vmdk;

/// <summary>What one grain of an extent holds, as the grain tables say.</summary>
internal enum VmdkGrainState
{
    /// <summary>No grain: reads from the parent, or as zeroes.</summary>
    Unallocated,

    /// <summary>A zeroed grain (zeroed-grain entry, seSparse zero or unmapped grain).</summary>
    Zero,

    /// <summary>Stored at <see cref="VmdkGrain.HostOffset"/> (compressed for stream-optimized extents).</summary>
    Data,
}

/// <summary>Where a guest offset of an extent lives.</summary>
/// <param name="State">What the grain holds.</param>
/// <param name="HostOffset">Byte offset of the grain (or of its marker) in the extent file, for data.</param>
/// <param name="Length">Bytes from the looked-up offset to the end of the grain (or of the extent, when flat).</param>
internal readonly record struct VmdkGrain(VmdkGrainState State, long HostOffset, long Length);
