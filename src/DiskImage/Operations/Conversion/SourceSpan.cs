namespace DiskImage.Operations.Conversion;

/// <summary>What a run of the target gets from the sources.</summary>
internal enum SpanKind
{
    /// <summary>Source data: read and written (zero runs in it may still become zero writes).</summary>
    Data,

    /// <summary>Reads as zeroes in the source without being read.</summary>
    Zero,

    /// <summary>Left untouched in the target, whose backing file shows there (qemu-img convert's <c>BLK_BACKING_FILE</c>).</summary>
    Backing,
}

/// <summary>A run of the target's guest range and where it comes from.</summary>
/// <param name="TargetOffset">Offset in the target (sources are laid end to end).</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="Kind">Data, zeroes, or left to the target's backing file.</param>
/// <param name="SourceIndex">Which source.</param>
/// <param name="SourceOffset">Offset within that source.</param>
internal readonly record struct SourceSpan(long TargetOffset, long Length, SpanKind Kind, int SourceIndex, long SourceOffset)
{
    public long TargetEnd => TargetOffset + Length;

    public bool IsData => Kind == SpanKind.Data;

    public bool IsBacking => Kind == SpanKind.Backing;
}
