namespace DiskImage.Nbd;

/// <summary>
/// Bounds the bytes one connection's requests hold at once. A few requests are always let through whatever
/// their size, so no single valid request can wait forever and large reads still overlap with the previous reply.
/// </summary>
internal sealed class NbdByteBudget(long limit)
{
    /// <summary>Requests admitted even past the limit: one being read while the one before it is sent.</summary>
    private const int AlwaysAdmitted = 2;

    private readonly object _gate = new();
    private readonly SemaphoreSlim _released = new(0);
    private long _used;
    private int _holders;
    private int _waiters;

    public async Task TakeAsync(long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_holders < AlwaysAdmitted || _used + bytes <= limit)
                {
                    _used += bytes;
                    _holders++;
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
            _holders--;
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
        while (true)
        {
            lock (_gate)
            {
                if (_holders == 0)
                {
                    return;
                }

                _waiters++;
            }

            await _released.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
