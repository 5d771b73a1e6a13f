namespace DiskImage.Operations.Conversion;

/// <summary>
/// One unit of the copy, in target order: a chunk that holds some data (<see cref="Pieces"/> lists
/// its runs), or a range that reads as zero everywhere in the sources (<see cref="Pieces"/> empty).
/// </summary>
internal sealed record CopyWork(long TargetOffset, long Length, IReadOnlyList<SourceSpan> Pieces)
{
    public bool IsZeroRange => Pieces.Count == 0;
}
