namespace DiskImage.Operations.Commit;

/// <summary>
/// How QEMU's commit job (the mirror job qemu-img commit runs) divides its work, for its progress: the ranges the
/// layers above the base allocate, grown to the job's granularity (the base's cluster size within 4 KiB to 64 KiB,
/// 64 KiB without one), are the total; they are taken in passes of up to 16 MiB, each cut into requests at every
/// change of layer or of data/zero status, data requests at most 1 MiB long. Each request done is one step.
/// </summary>
internal sealed class CommitJobSteps
{
    private const long PassBytes = 16L << 20;
    private const long MaxDataRequest = 1L << 20;

    private readonly List<long> _stepEnds = [];
    private readonly List<long> _stepBytes = [];
    private int _next;
    private long _done;

    /// <summary>Bytes the job counts as its whole work.</summary>
    public long Total { get; private set; }

    /// <summary>
    /// The steps over <paramref name="segments"/>: sorted, disjoint runs of one layer (<c>Layer</c>) and status
    /// (<c>Zero</c>) that the layers above the base allocate, in an image of <paramref name="length"/> bytes.
    /// </summary>
    public static CommitJobSteps Plan(IReadOnlyList<(long Start, long End, bool Zero, int Layer)> segments, long granularity, long length)
    {
        var steps = new CommitJobSteps();
        var grown = Grow(segments, granularity);
        var runStart = 0L;
        var at = 0;
        for (var i = 0; i < grown.Count; i++)
        {
            if (i == 0 || grown[i].Start != grown[i - 1].End)
            {
                runStart = grown[i].Start;
            }

            if (i + 1 < grown.Count && grown[i + 1].Start == grown[i].End)
            {
                continue;
            }

            // A dirty run ends here: [runStart, End) in passes.
            var runEnd = grown[i].End;
            steps.Total += runEnd - runStart;
            for (var pass = runStart; pass < runEnd && pass < length; pass += PassBytes)
            {
                var passEnd = Math.Min(pass + PassBytes, runEnd);
                for (var position = pass; position < passEnd && position < length;)
                {
                    while (at + 1 < grown.Count && grown[at + 1].Start <= position)
                    {
                        at++;
                    }

                    var segment = grown[at];
                    var run = Math.Min(segment.End, passEnd) - position;
                    var request = segment.Zero ? run : Math.Min(run, MaxDataRequest);
                    request -= request % granularity;
                    request = Math.Min(Math.Max(request, granularity), length - position);
                    position += request;
                    steps._stepEnds.Add(position);
                    steps._stepBytes.Add(request);
                }
            }
        }

        return steps;
    }

    /// <summary>Reports every step that ends at or before <paramref name="copiedTo"/> and has not been reported.</summary>
    public void ReportUpTo(long copiedTo, IProgress<OperationProgress>? progress)
    {
        for (; _next < _stepEnds.Count && _stepEnds[_next] <= copiedTo; _next++)
        {
            _done += _stepBytes[_next];
            progress?.Report(new OperationProgress(_done, Total));
        }
    }

    /// <summary>The segments grown to whole granules; neighbours of one layer and status that then touch are merged.</summary>
    private static List<(long Start, long End, bool Zero, int Layer)> Grow(IReadOnlyList<(long Start, long End, bool Zero, int Layer)> segments, long granularity)
    {
        var grown = new List<(long Start, long End, bool Zero, int Layer)>();
        foreach (var segment in segments)
        {
            var start = segment.Start / granularity * granularity;
            var end = (segment.End + granularity - 1) / granularity * granularity;
            if (grown.Count > 0 && grown[^1].End > start)
            {
                // The granule is shared with the previous segment, which keeps it.
                start = grown[^1].End;
            }

            if (start >= end)
            {
                continue;
            }

            if (grown.Count > 0 && grown[^1].End == start && grown[^1].Zero == segment.Zero && grown[^1].Layer == segment.Layer)
            {
                grown[^1] = grown[^1] with { End = end };
            }
            else
            {
                grown.Add((start, end, segment.Zero, segment.Layer));
            }
        }

        return grown;
    }
}
