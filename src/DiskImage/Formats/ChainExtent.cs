using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>A run of guest offsets whose content comes from one layer of a backing chain.</summary>
/// <param name="Offset">Guest byte offset of the first byte.</param>
/// <param name="Length">Length in bytes; always positive.</param>
/// <param name="Kind">
/// <see cref="ExtentKind.Data"/> or <see cref="ExtentKind.Zero"/> when a layer holds the run;
/// <see cref="ExtentKind.Unallocated"/> when no layer does (it reads as zeroes).
/// </param>
/// <param name="Depth">Layer that decided the run: 0 is the top image, 1 its backing file, and so on.</param>
public readonly record struct ChainExtent(long Offset, long Length, ExtentKind Kind, int Depth)
{
    /// <summary>Guest offset one past the last byte.</summary>
    public long End => Offset + Length;

    /// <summary>True when the run reads as zeroes without being read.</summary>
    public bool ReadsAsZero => Kind != ExtentKind.Data;
}
