namespace DiskImage.Operations.Conversion;

/// <summary>
/// Cuts the sources' runs into chunk-aligned work. Chunks that touch data become copy work; runs of
/// chunks that read as zero (or are left to the target's backing file) are merged into one range of
/// that kind, however long, so an empty terabyte is a single piece of work.
/// </summary>
internal sealed class CopyPlanner
{
    private readonly long _chunkSize;
    private readonly long _total;
    private readonly List<CopyWork> _ready = [];
    private List<SourceSpan> _cellPieces = [];
    private long _cellStart = -1;
    private bool _cellHasData;
    private long _rangeStart = -1;
    private long _rangeEnd;
    private bool _rangeIsBacking;

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
        planner.FlushRange();
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
                // Whole chunks of zeroes (or of backing): extend the range without visiting each chunk.
                var wholeEnd = end == _total ? end : end - (end % _chunkSize);
                _cellStart = -1;
                AddRange(cellStart, wholeEnd, span.IsBacking);
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
            FlushRange();
            _ready.Add(new CopyWork(_cellStart, cellEnd - _cellStart, _cellPieces));
            _cellPieces = [];
        }
        else
        {
            foreach (var piece in _cellPieces)
            {
                AddRange(piece.TargetOffset, piece.TargetEnd, piece.IsBacking);
            }

            _cellPieces.Clear();
        }

        _cellHasData = false;
        _cellStart = -1;
    }

    private void AddRange(long start, long end, bool backing)
    {
        if (_rangeStart >= 0 && _rangeEnd == start && _rangeIsBacking == backing)
        {
            _rangeEnd = end;
            return;
        }

        FlushRange();
        _rangeStart = start;
        _rangeEnd = end;
        _rangeIsBacking = backing;
    }

    private void FlushRange()
    {
        if (_rangeStart >= 0 && _rangeEnd > _rangeStart)
        {
            _ready.Add(new CopyWork(_rangeStart, _rangeEnd - _rangeStart, [], _rangeIsBacking));
        }

        _rangeStart = -1;
    }
}
