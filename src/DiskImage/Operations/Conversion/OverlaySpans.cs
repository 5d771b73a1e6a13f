using DiskImage.Formats;
using DiskImage.Formats.Qcow2.Bitmaps;
using DiskImage.IO;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// The runs of a copy into a target that has a backing file (one source). Without a bitmap this is qemu-img
/// convert's <c>-B</c>: only the source's own layer is looked at (block status above its backing file), so what
/// it leaves unallocated is left to the target's backing file, and what it holds (data, zeroes) is written. With a
/// bitmap (an incremental backup) the bitmap's dirty runs are copied as the source reads there through its whole
/// chain, and everything else is left to the backing file (the previous backup). Either way, zeroes past the end
/// of the target's backing file are not written, since the target reads zeroes there already.
/// </summary>
/// <param name="Source">The one source.</param>
/// <param name="TargetBackingLength">Length of the target's backing file, when known (a new target).</param>
/// <param name="Bitmap">The dirty bitmap of an incremental backup; null for plain <c>-B</c>.</param>
/// <param name="WholeClusters">
/// The target's cluster size when it is written compressed (whole clusters only): a cluster with anything to
/// write is then read and written whole, as qemu-img does; 0 otherwise.
/// </param>
internal sealed record OverlaySpans(IDiskImage Source, long? TargetBackingLength, Qcow2DirtyBitmap? Bitmap, int WholeClusters)
{
    /// <summary>Runs are produced in windows this large, so memory stays bounded on fragmented images.</summary>
    private const long Window = 1L << 30;

    public IEnumerable<SourceSpan> Walk(CancellationToken cancellationToken)
    {
        var spans = Bitmap is null ? SourceLayer(cancellationToken) : DirtyRuns(Bitmap, cancellationToken);
        if (TargetBackingLength is { } backingLength)
        {
            spans = spans.SelectMany(s => PastBackingEnd(s, backingLength));
        }

        return WholeClusters > 0 ? RoundToClusters(spans, WholeClusters, Source.Length) : spans;
    }

    /// <summary>qemu's <c>bdrv_block_status_above(source, source's backing)</c>: the source's own layer.</summary>
    private IEnumerable<SourceSpan> SourceLayer(CancellationToken cancellationToken)
    {
        var backingLength = Source.Backing?.Length;
        for (long window = 0; window < Source.Length; window += Window)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var extent in ChainBlockStatus.LayerExtents(Source, window, Math.Min(Window, Source.Length - window)))
            {
                if (extent.Kind != ExtentKind.Unallocated)
                {
                    yield return Span(extent.Offset, extent.Length, extent.Kind == ExtentKind.Data ? SpanKind.Data : SpanKind.Zero);
                }
                else if (backingLength is not { } below)
                {
                    // Nothing beneath the source: unallocated reads as zeroes, which must hide the target's backing file.
                    yield return Span(extent.Offset, extent.Length, SpanKind.Zero);
                }
                else
                {
                    var split = Math.Clamp(below, extent.Offset, extent.End);
                    if (split > extent.Offset)
                    {
                        yield return Span(extent.Offset, split - extent.Offset, SpanKind.Backing);
                    }

                    if (extent.End > split)
                    {
                        // Past the end of the source's backing file the source reads zeroes (qemu: BDRV_BLOCK_ZERO).
                        yield return Span(split, extent.End - split, SpanKind.Zero);
                    }
                }
            }
        }
    }

    /// <summary>Dirty runs as the source reads there (through its chain); clean runs are left to the backing file.</summary>
    private IEnumerable<SourceSpan> DirtyRuns(Qcow2DirtyBitmap bitmap, CancellationToken cancellationToken)
    {
        for (long window = 0; window < Source.Length; window += Window)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var end = Math.Min(window + Window, Source.Length);
            var position = window;
            while (bitmap.NextDirtyArea(position, end, long.MaxValue, out var dirtyStart, out var dirtyLength))
            {
                if (dirtyStart > position)
                {
                    yield return Span(position, dirtyStart - position, SpanKind.Backing);
                }

                foreach (var extent in ChainBlockStatus.GetExtents(Source, dirtyStart, dirtyLength))
                {
                    yield return Span(extent.Offset, extent.Length, extent.Kind == ExtentKind.Data ? SpanKind.Data : SpanKind.Zero);
                }

                position = dirtyStart + dirtyLength;
            }

            if (end > position)
            {
                yield return Span(position, end - position, SpanKind.Backing);
            }
        }
    }

    /// <summary>qemu-img's <c>post_backing_zero</c>: zeroes past the end of the target's backing file are not written.</summary>
    private static IEnumerable<SourceSpan> PastBackingEnd(SourceSpan span, long backingLength)
    {
        if (span.Kind != SpanKind.Zero || span.TargetEnd <= backingLength)
        {
            yield return span;
            yield break;
        }

        var split = Math.Max(span.TargetOffset, backingLength);
        if (split > span.TargetOffset)
        {
            yield return span with { Length = split - span.TargetOffset };
        }

        yield return Span(split, span.TargetEnd - split, SpanKind.Backing);
    }

    /// <summary>
    /// Compressed targets take whole clusters only: in a cluster that has anything to write, runs left to the backing
    /// file become data read from the source (which reads the same there), as qemu-img reads the whole cluster.
    /// </summary>
    private static IEnumerable<SourceSpan> RoundToClusters(IEnumerable<SourceSpan> spans, long cluster, long total)
    {
        var pending = new List<SourceSpan>();
        var cell = -1L;
        var cellWritten = false;
        foreach (var span in spans)
        {
            var position = span.TargetOffset;
            while (position < span.TargetEnd)
            {
                var cellStart = position - (position % cluster);
                var cellEnd = Math.Min(cellStart + cluster, total);
                if (cellStart != cell)
                {
                    foreach (var flushed in Flush())
                    {
                        yield return flushed;
                    }

                    cell = cellStart;
                }

                var pieceEnd = Math.Min(span.TargetEnd, cellEnd);
                if (span.IsBacking && position == cellStart && span.TargetEnd >= cellEnd)
                {
                    // Whole clusters left to the backing file pass through in one run.
                    var wholeEnd = span.TargetEnd == total ? total : span.TargetEnd - (span.TargetEnd % cluster);
                    yield return span with { TargetOffset = position, Length = wholeEnd - position, SourceOffset = position };
                    cell = -1;
                    position = wholeEnd;
                    continue;
                }

                pending.Add(span with { TargetOffset = position, Length = pieceEnd - position, SourceOffset = position });
                cellWritten |= !span.IsBacking;
                position = pieceEnd;
            }
        }

        foreach (var flushed in Flush())
        {
            yield return flushed;
        }

        List<SourceSpan> Flush()
        {
            var result = cellWritten ? pending.Select(p => p.IsBacking ? p with { Kind = SpanKind.Data } : p).ToList() : [.. pending];
            pending.Clear();
            cellWritten = false;
            return result;
        }
    }

    private static SourceSpan Span(long offset, long length, SpanKind kind) => new(offset, length, kind, 0, offset);
}
