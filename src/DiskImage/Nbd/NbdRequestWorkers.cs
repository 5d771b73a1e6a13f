namespace DiskImage.Nbd;

/// <summary>
/// A connection's slow requests (flushes, large reads and writes, FUA) run here, off the connection's thread,
/// so the fast requests behind them are answered first. At most <see cref="MaxThreads"/> threads, started only
/// when a slow request finds none idle; at most <see cref="MaxQueued"/> requests and <see cref="ByteBudget"/>
/// bytes of their payloads in flight, so a client's pipelining depth never sets the server's memory.
/// </summary>
internal sealed class NbdRequestWorkers : IDisposable
{
    /// <summary>Threads per connection: enough to overlap a flush with large reads and writes.</summary>
    public const int MaxThreads = 4;

    /// <summary>Slow requests admitted and not yet answered.</summary>
    public const int MaxQueued = 16;

    /// <summary>Bytes of read and write data held by admitted requests (one maximal request always fits).</summary>
    public const long ByteBudget = NbdConstants.MaxPayload;

    private readonly object _gate = new();
    private readonly Queue<Action> _queue = new();
    private int _threads;
    private int _idle;
    private int _pending;
    private long _bytes;
    private bool _stopping;

    /// <summary>
    /// Counts in a request holding <paramref name="bytes"/> of data, waiting while the bounds are reached; before
    /// the first wait, <paramref name="beforeWait"/> runs (the connection sends the replies it has collected).
    /// </summary>
    public void Admit(long bytes, Action beforeWait)
    {
        lock (_gate)
        {
            if (!Fits(bytes))
            {
                Monitor.Exit(_gate);
                try
                {
                    beforeWait();
                }
                finally
                {
                    Monitor.Enter(_gate);
                }

                while (!Fits(bytes))
                {
                    Monitor.Wait(_gate);
                }
            }

            _pending++;
            _bytes += bytes;
        }
    }

    /// <summary>Runs an admitted request's <paramref name="work"/>; it must call <see cref="Done"/> with the same bytes.</summary>
    public void Run(Action work)
    {
        lock (_gate)
        {
            _queue.Enqueue(work);
            if (_idle > _queue.Count - 1)
            {
                Monitor.PulseAll(_gate);
                return;
            }

            if (_threads < MaxThreads)
            {
                _threads++;
                new Thread(Loop) { IsBackground = true, Name = "nbd request" }.Start();
            }
        }
    }

    /// <summary>An admitted request has been answered (or given up).</summary>
    public void Done(long bytes)
    {
        lock (_gate)
        {
            _pending--;
            _bytes -= bytes;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until every admitted request has been answered.</summary>
    public void Drain()
    {
        lock (_gate)
        {
            while (_pending > 0)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>Ends the threads once the queue is empty.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    private bool Fits(long bytes) => _pending == 0 || (_pending < MaxQueued && _bytes + bytes <= ByteBudget);

    private void Loop()
    {
        while (true)
        {
            Action work;
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_stopping)
                    {
                        _threads--;
                        return;
                    }

                    _idle++;
                    Monitor.Wait(_gate);
                    _idle--;
                }

                work = _queue.Dequeue();
            }

            work();
        }
    }
}
