namespace DiskImage.Nbd;

/// <summary>
/// Bounds the bytes one connection's requests hold at once. A request larger than the whole budget is
/// let through alone, so no single valid request can wait forever.
/// </summary>
internal sealed class NbdByteBudget(long limit)
{
    private readonly object _gate = new();
    private readonly SemaphoreSlim _released = new(0);
    private long _used;
    private int _waiters;

    public async Task TakeAsync(long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_used == 0 || _used + bytes <= limit)
                {
                    _used += bytes;
                    return;
                }

                _waiters++;
            }

            await _released.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Give(long bytes)
    {
        int wake;
        lock (_gate)
        {
            _used -= bytes;
            wake = _waiters;
            _waiters = 0;
        }

        if (wake > 0)
        {
            _released.Release(wake);
        }
    }

    /// <summary>Waits until every taken byte was given back (all requests answered).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        await TakeAsync(limit, cancellationToken).ConfigureAwait(false);
        Give(limit);
    }
}
