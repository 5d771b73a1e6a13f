namespace DiskImage.Operations.Conversion;

/// <summary>
/// Cuts the sources' runs into chunk-aligned work. Chunks that touch data become copy work; runs of
/// chunks that read as zero are merged into one zero range, however long, so an empty terabyte is
/// a single piece of work.
/// </summary>
internal sealed class CopyPlanner
{
    private readonly long _chunkSize;
    private readonly long _total;
    private readonly List<CopyWork> _ready = [];
    private List<SourceSpan> _cellPieces = [];
    private long _cellStart = -1;
    private bool _cellHasData;
    private long _zeroStart = -1;
    private long _zeroEnd;

    private CopyPlanner(long chunkSize, long total)
    {
        _chunkSize = chunkSize;
        _total = total;
    }

    public static IEnumerable<CopyWork> Plan(IEnumerable<SourceSpan> spans, long chunkSize, long total)
    {
        var planner = new CopyPlanner(chunkSize, total);
        foreach (var span in spans)
        {
            planner.Add(span);
            foreach (var work in planner.TakeReady())
            {
                yield return work;
            }
        }

        planner.FlushCell();
        planner.FlushZero();
        foreach (var work in planner.TakeReady())
        {
            yield return work;
        }
    }

    private List<CopyWork> TakeReady()
    {
        if (_ready.Count == 0)
        {
            return [];
        }

        var ready = new List<CopyWork>(_ready);
        _ready.Clear();
        return ready;
    }

    private void Add(SourceSpan span)
    {
        var position = span.TargetOffset;
        var end = span.TargetEnd;
        while (position < end)
        {
            var cellStart = position - (position % _chunkSize);
            var cellEnd = Math.Min(cellStart + _chunkSize, _total);
            if (cellStart != _cellStart)
            {
                FlushCell();
                _cellStart = cellStart;
            }

            if (!span.IsData && position == cellStart && end >= cellEnd)
            {
                // Whole chunks of zeroes: extend the zero range without visiting each chunk.
                var wholeEnd = end == _total ? end : end - (end % _chunkSize);
                _cellStart = -1;
                AddZero(cellStart, wholeEnd);
                position = wholeEnd;
                continue;
            }

            var pieceEnd = Math.Min(end, cellEnd);
            _cellPieces.Add(span with
            {
                TargetOffset = position,
                Length = pieceEnd - position,
                SourceOffset = span.SourceOffset + (position - span.TargetOffset),
            });
            _cellHasData |= span.IsData;
            position = pieceEnd;
        }
    }

    private void FlushCell()
    {
        if (_cellStart < 0)
        {
            return;
        }

        var cellEnd = Math.Min(_cellStart + _chunkSize, _total);
        if (_cellHasData)
        {
            FlushZero();
            _ready.Add(new CopyWork(_cellStart, cellEnd - _cellStart, _cellPieces));
            _cellPieces = [];
        }
        else
        {
            AddZero(_cellStart, cellEnd);
            _cellPieces.Clear();
        }

        _cellHasData = false;
        _cellStart = -1;
    }

    private void AddZero(long start, long end)
    {
        if (_zeroStart >= 0 && _zeroEnd == start)
        {
            _zeroEnd = end;
            return;
        }

        FlushZero();
        _zeroStart = start;
        _zeroEnd = end;
    }

    private void FlushZero()
    {
        if (_zeroStart >= 0 && _zeroEnd > _zeroStart)
        {
            _ready.Add(new CopyWork(_zeroStart, _zeroEnd - _zeroStart, []));
        }

        _zeroStart = -1;
    }
}
