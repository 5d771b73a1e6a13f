using System.Runtime.ExceptionServices;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// The bounded parallel copy: worker threads (at most <c>-m</c>) take the planner's chunks in order,
/// read, scan and compress them, and each chunk is written in target order by the calling thread or by
/// the worker that read it, or in any order by the workers (<c>-W</c>); see <see cref="CopyWriteMode"/>.
/// At most a fixed number of chunks are in flight, so memory stays bounded whatever the image size.
/// </summary>
/// <remarks>
/// Dedicated threads that block on a monitor, not thread-pool tasks: a copy is blocking I/O from start
/// to end, and pool workers spin (<c>sched_yield</c>) looking for work between chunks, taking the
/// CPU the writer needs on a small machine. A failure of a chunk surfaces when the writer reaches that
/// chunk, so everything before it is written first, as with in-order writes.
/// </remarks>
internal sealed class CopyPipeline(SourceLayout layout, ChunkProcessor processor, ChunkWriter writer, long chunkSize, int workers, CopyWriteMode writeMode, long rateLimit = 0)
{
    private readonly bool _workersWrite = writeMode != CopyWriteMode.CallingThread;
    private readonly object _gate = new();
    private readonly Lock _planGate = new();
    private readonly int _capacity = workers * 2;
    private ChunkResult?[] _results = [];
    private ExceptionDispatchInfo?[] _errors = [];
    private IEnumerator<CopyWork>? _plan;
    private long _planned;
    private long _planEnd = -1;
    private long _written;
    private long _applied;
    private int _inFlight;
    private bool _stopping;

    /// <summary>
    /// When set (a compressed copy's cluster size), progress counts whole cells of this size that hold any data, as
    /// qemu-img's compressed convert copies (and counts) one cluster at a time.
    /// </summary>
    public long ProgressCell { get; init; }

    public void Run(IProgress<CopyProgress>? progress, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = stop.Token;
        var total = layout.TotalLength;

        // The data total needs its own block-status pass, made only when someone watches the progress.
        var dataTotal = progress is null ? 0
            : ProgressCell > 0 ? DataCellsLength(layout.Walk(token), ProgressCell, total)
            : layout.Walk(token).Where(s => s.IsData).Sum(s => s.Length);
        progress?.Report(new CopyProgress(0, total) { DataTotal = dataTotal });

        _results = new ChunkResult?[_capacity];
        _errors = new ExceptionDispatchInfo?[_capacity];
        _plan = CopyPlanner.Plan(layout.Walk(token), chunkSize, total).GetEnumerator();
        var threads = new Thread[workers];
        using var wake = token.Register(WakeAll);
        try
        {
            for (var i = 0; i < threads.Length; i++)
            {
                threads[i] = new Thread(() => Work(token)) { IsBackground = true, Name = "diskimg copy" };
                threads[i].Start();
            }

            Write(progress, total, dataTotal, token);
        }
        finally
        {
            // Every worker is joined before the images close, whether the copy finished or failed.
            lock (_gate)
            {
                _stopping = true;
                Monitor.PulseAll(_gate);
            }

            stop.Cancel();
            foreach (var thread in threads)
            {
                thread?.Join();
            }

            foreach (var result in _results)
            {
                result?.Dispose();
            }

            _plan.Dispose();
        }
    }

    /// <summary>The writer: applies each chunk when it is its turn, then frees its place for the workers.</summary>
    private void Write(IProgress<CopyProgress>? progress, long total, long dataTotal, CancellationToken token)
    {
        long done = 0;
        long dataDone = 0;
        var rate = new RateLimiter(rateLimit);
        while (true)
        {
            ChunkResult result;
            lock (_gate)
            {
                var slot = (int)(_written % _capacity);
                while (_results[slot] is null && _errors[slot] is null && _written != _planEnd && !token.IsCancellationRequested)
                {
                    Monitor.Wait(_gate);
                }

                if (_errors[slot] is { } error)
                {
                    error.Throw();
                }

                if (_results[slot] is null)
                {
                    token.ThrowIfCancellationRequested();
                    return;
                }

                result = _results[slot]!;
                _results[slot] = null;
            }

            using (result)
            {
                if (!_workersWrite)
                {
                    writer.Apply(result, token);
                }

                done += result.Work.Length;
                rate.Account(DataLength(result.Work), token);
                if (progress is not null)
                {
                    dataDone = Report(progress, result.Work, done, total, dataDone, dataTotal);
                }
            }

            lock (_gate)
            {
                _written++;
                _inFlight--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>A worker: takes the next chunk of the plan while there is room, processes it and hands it to the writer.</summary>
    private void Work(CancellationToken token)
    {
        while (true)
        {
            lock (_gate)
            {
                while (!_stopping && _inFlight >= _capacity)
                {
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                _inFlight++;
            }

            long sequence;
            CopyWork? work = null;
            ExceptionDispatchInfo? error = null;
            lock (_planGate)
            {
                if (_planEnd >= 0)
                {
                    Release();
                    return;
                }

                sequence = _planned++;
                try
                {
                    if (_plan!.MoveNext())
                    {
                        work = _plan.Current;
                    }
                }
                catch (Exception e)
                {
                    error = ExceptionDispatchInfo.Capture(e);
                }

                if (work is null && error is null)
                {
                    lock (_gate)
                    {
                        _planEnd = sequence;
                        _inFlight--;
                        Monitor.PulseAll(_gate);
                    }

                    return;
                }
            }

            ChunkResult? result = null;
            if (error is null)
            {
                try
                {
                    result = Process(work!, sequence, token);
                }
                catch (Exception e)
                {
                    error = ExceptionDispatchInfo.Capture(e);
                }
            }

            lock (_gate)
            {
                var slot = (int)(sequence % _capacity);
                _results[slot] = result;
                _errors[slot] = error;
                if (sequence == _written)
                {
                    Monitor.PulseAll(_gate);
                }

                if (error is not null)
                {
                    // Nothing after a failed chunk is written; the writer reports the failure when it gets there.
                    _stopping = true;
                    Monitor.PulseAll(_gate);
                    return;
                }
            }
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            _inFlight--;
            Monitor.PulseAll(_gate);
        }
    }

    private void WakeAll()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    private long Report(IProgress<CopyProgress> progress, CopyWork work, long done, long total, long dataDone, long dataTotal)
    {
        if (ProgressCell > 0)
        {
            return ReportCells(progress, work, done, total, dataDone, dataTotal);
        }

        // One report per data run, as qemu-img counts its progress per block-status extent.
        foreach (var piece in work.Pieces)
        {
            if (piece.IsData)
            {
                dataDone += piece.Length;
                progress.Report(new CopyProgress(done - work.Length + (piece.TargetEnd - work.TargetOffset), total) { DataDone = dataDone, DataTotal = dataTotal });
            }
        }

        progress.Report(new CopyProgress(done, total) { DataDone = dataDone, DataTotal = dataTotal });
        return dataDone;
    }

    /// <summary>One report per cell of the work that holds data, each counting the whole cell.</summary>
    private long ReportCells(IProgress<CopyProgress> progress, CopyWork work, long done, long total, long dataDone, long dataTotal)
    {
        var lastCell = -1L;
        foreach (var piece in work.Pieces)
        {
            if (!piece.IsData)
            {
                continue;
            }

            for (var cell = Math.Max(lastCell + 1, piece.TargetOffset / ProgressCell); cell * ProgressCell < piece.TargetEnd; cell++)
            {
                var cellEnd = Math.Min((cell + 1) * ProgressCell, total);
                dataDone += cellEnd - (cell * ProgressCell);
                lastCell = cell;
                progress.Report(new CopyProgress(done - work.Length + (Math.Min(cellEnd, work.TargetOffset + work.Length) - work.TargetOffset), total) { DataDone = dataDone, DataTotal = dataTotal });
            }
        }

        progress.Report(new CopyProgress(done, total) { DataDone = dataDone, DataTotal = dataTotal });
        return dataDone;
    }

    /// <summary>Bytes of the cells of <paramref name="cell"/> bytes (the last one cut at the end) that hold any data.</summary>
    private static long DataCellsLength(IEnumerable<SourceSpan> spans, long cell, long total)
    {
        long sum = 0;
        var lastCell = -1L;
        foreach (var span in spans.Where(s => s.IsData && s.Length > 0))
        {
            for (var index = Math.Max(lastCell + 1, span.TargetOffset / cell); index * cell < span.TargetEnd; index++)
            {
                sum += Math.Min((index + 1) * cell, total) - (index * cell);
                lastCell = index;
            }
        }

        return sum;
    }

    private static long DataLength(CopyWork work)
    {
        long length = 0;
        foreach (var piece in work.Pieces)
        {
            length += piece.IsData ? piece.Length : 0;
        }

        return length;
    }

    private ChunkResult Process(CopyWork work, long sequence, CancellationToken token)
    {
        var result = processor.Process(work, token);
        if (_workersWrite)
        {
            try
            {
                if (writeMode == CopyWriteMode.WorkersInOrder && !AwaitTurn(sequence, token))
                {
                    // An earlier chunk failed or the copy was cancelled: the writer reports that, not this chunk.
                    token.ThrowIfCancellationRequested();
                    throw new OperationCanceledException();
                }

                writer.Apply(result, token);
                if (writeMode == CopyWriteMode.WorkersInOrder)
                {
                    lock (_gate)
                    {
                        _applied++;
                        Monitor.PulseAll(_gate);
                    }
                }
            }
            catch
            {
                result.Dispose();
                throw;
            }
        }

        return result;
    }

    /// <summary>Waits until every chunk before <paramref name="sequence"/> is on the target; false if the copy stops first.</summary>
    private bool AwaitTurn(long sequence, CancellationToken token)
    {
        lock (_gate)
        {
            while (_applied != sequence && !_stopping && !token.IsCancellationRequested)
            {
                Monitor.Wait(_gate);
            }

            return _applied == sequence;
        }
    }
}
