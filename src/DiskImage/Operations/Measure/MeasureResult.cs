namespace DiskImage.Operations.Measure;

/// <summary>
/// <c>qemu-img measure</c>'s answer (QAPI <c>BlockMeasureInfo</c>).
/// </summary>
/// <param name="Required">Bytes the new file needs for the data it would hold (<c>required</c>).</param>
/// <param name="FullyAllocated">Bytes it would need with every cluster allocated (<c>fully-allocated</c>).</param>
/// <param name="Bitmaps">Bytes persistent dirty bitmaps would add (<c>bitmaps</c>); null when either side cannot hold bitmaps.</param>
public sealed record MeasureResult(long Required, long FullyAllocated, long? Bitmaps);
