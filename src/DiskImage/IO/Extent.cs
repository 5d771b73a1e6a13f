namespace DiskImage.IO;

/// <summary>A run of guest offsets that share one <see cref="ExtentKind"/>.</summary>
/// <param name="Offset">Guest byte offset of the first byte.</param>
/// <param name="Length">Length in bytes; always positive.</param>
/// <param name="Kind">What the run holds.</param>
public readonly record struct Extent(long Offset, long Length, ExtentKind Kind)
{
    /// <summary>Guest offset one past the last byte.</summary>
    public long End => Offset + Length;

    /// <summary>True when the run reads as zeroes without reading it (zero, or unallocated with nothing beneath).</summary>
    public bool ReadsAsZero => Kind != ExtentKind.Data;
}
