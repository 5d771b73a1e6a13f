namespace DiskImage.Operations.Conversion;

/// <summary>
/// One unit of the copy, in target order: a chunk that holds some data (<see cref="Pieces"/> lists
/// its runs), a range that reads as zero everywhere in the sources (<see cref="Pieces"/> empty), or
/// a range left to the target's backing file (<see cref="LeftToBacking"/>: nothing is written).
/// </summary>
internal sealed record CopyWork(long TargetOffset, long Length, IReadOnlyList<SourceSpan> Pieces, bool LeftToBacking = false)
{
    public bool IsZeroRange => Pieces.Count == 0 && !LeftToBacking;
}
