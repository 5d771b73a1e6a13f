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

    private IEnumerable<SourceSpan> WalkChains(CancellationToken cancellationToken)
    {
        for (var i = 0; i < Sources.Count; i++)
        {
            var source = Sources[i];
            for (long window = 0; window < source.Length; window += StatusWindow)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var length = Math.Min(StatusWindow, source.Length - window);
                foreach (var extent in ChainBlockStatus.GetExtents(source, window, length))
                {
                    yield return new SourceSpan(_starts[i] + extent.Offset, extent.Length, extent.ReadsAsZero ? SpanKind.Zero : SpanKind.Data, i, extent.Offset);
                }
            }
        }
    }
}
