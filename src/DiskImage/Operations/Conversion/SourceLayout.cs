using DiskImage.Formats;

namespace DiskImage.Operations.Conversion;

/// <summary>The sources laid end to end as the target sees them, and their block status through each backing chain.</summary>
internal sealed class SourceLayout
{
    /// <summary>Block status is asked for in windows this large, so memory stays bounded on fragmented images.</summary>
    private const long StatusWindow = 1L << 30;

    private readonly long[] _starts;

    public SourceLayout(IReadOnlyList<IDiskImage> sources)
    {
        Sources = sources;
        _starts = new long[sources.Count];
        long total = 0;
        for (var i = 0; i < sources.Count; i++)
        {
            _starts[i] = total;
            total = checked(total + sources[i].Length);
        }

        TotalLength = total;
    }

    public IReadOnlyList<IDiskImage> Sources { get; }

    public long TotalLength { get; }

    /// <summary>Set when the target has a backing file: the runs then come from it (qemu-img convert's <c>-B</c>).</summary>
    public OverlaySpans? Overlay { get; set; }

    /// <summary>
    /// Set for <c>-c -S 0</c>: qemu-img then compresses every cluster, those that read as zero included, so runs that
    /// read as zero are planned (and read) as data.
    /// </summary>
    public bool ZeroesAreData { get; set; }

    /// <summary>Every run of the target range in order: data, reads-as-zero, or (with <see cref="Overlay"/>) left to the backing file.</summary>
    public IEnumerable<SourceSpan> Walk(CancellationToken cancellationToken)
    {
        var spans = Overlay is { } overlay ? overlay.Walk(cancellationToken) : WalkChains(cancellationToken);
        return ZeroesAreData ? spans.Select(s => s.Kind == SpanKind.Zero ? s with { Kind = SpanKind.Data } : s) : spans;
    }

    /// <summary>
    /// Set for <c>--salvage</c>: a block-status query that fails is retried on shorter ranges, as qemu-img does, down
    /// to the single sector at which it starts; that sector is then reported here and copied as data.
    /// </summary>
    public Action<string>? StatusWarning { get; set; }

    private IEnumerable<SourceSpan> WalkChains(CancellationToken cancellationToken)
    {
        for (var i = 0; i < Sources.Count; i++)
        {
            var source = Sources[i];
            var position = 0L;
            while (position < source.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var windowEnd = Math.Min(position + StatusWindow, source.Length);

                // Extents come lazily, query by query, so a salvage warning shows when the copy reaches its sector.
                foreach (var extent in Query(source, position, windowEnd - position))
                {
                    yield return new SourceSpan(_starts[i] + extent.Offset, extent.Length, extent.ReadsAsZero ? SpanKind.Zero : SpanKind.Data, i, extent.Offset);
                    position = extent.End;
                }
            }
        }
    }

    /// <summary>
    /// The extents of one query starting at <paramref name="offset"/>. A failure names that offset, in qemu-img's
    /// words; with <see cref="StatusWarning"/> the query is retried on a quarter of its sectors each time, and a
    /// single sector that still fails is warned about and returned as data.
    /// </summary>
    private IReadOnlyList<ChainExtent> Query(IDiskImage source, long offset, long length)
    {
        const long Sector = 512;
        while (true)
        {
            try
            {
                return ChainBlockStatus.GetExtents(source, offset, length);
            }
            catch (IOException e) when (e.HResult > 0)
            {
                var message = $"error while reading block status at offset {offset}: {IO.ErrnoText.Strerror(e.HResult)}";
                if (StatusWarning is not { } warn)
                {
                    throw new ImageAccessException(message, e);
                }

                if (length <= Sector)
                {
                    warn(message);
                    return [new ChainExtent(offset, length, IO.ExtentKind.Data, 0)];
                }

                var sectors = (length + Sector - 1) / Sector;
                length = Math.Min(length, (sectors + 3) / 4 * Sector);
            }
        }
    }
}
