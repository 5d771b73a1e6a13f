namespace DiskImage.Operations.Conversion;

/// <summary>A run of the target's guest range and where it comes from.</summary>
/// <param name="TargetOffset">Offset in the target (sources are laid end to end).</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="IsData">False when the source reads as zeroes here without being read.</param>
/// <param name="SourceIndex">Which source.</param>
/// <param name="SourceOffset">Offset within that source.</param>
internal readonly record struct SourceSpan(long TargetOffset, long Length, bool IsData, int SourceIndex, long SourceOffset)
{
    public long TargetEnd => TargetOffset + Length;
}
