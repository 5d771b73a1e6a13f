namespace DiskImage.IO.Blkdebug;

/// <summary>
/// QEMU's debug driver as a storage node: requests pass to the storage underneath unless a rule fails them. The
/// format above raises events (<see cref="Raise"/>) at the points QEMU's drivers raise them; an event's
/// <c>[set-state]</c> rules move the node's state, and its <c>[inject-error]</c> rules for the current state replace the
/// active set. From then on every request an active rule matches (kind of request, and the sector when one is
/// given) fails with the rule's errno, until another event activates other rules; a <c>once</c> rule is dropped after
/// failing one request. The node starts in state 1 and raises <c>none</c> when opened. Thread-safe.
/// </summary>
internal sealed class BlkdebugStorage : IStorage
{
    private readonly IStorage _inner;
    private readonly object _lock = new();

    /// <summary>Rules by event, latest added first (QEMU inserts at the head of each event's list).</summary>
    private readonly List<BlkdebugRule>[] _rules;

    /// <summary>The injection rules activated by the last event that activated any, first match wins.</summary>
    private readonly List<BlkdebugRule> _active = [];

    private int _state = 1;

    /// <summary>Writes issued and the count at the last flush: as in QEMU, a flush with nothing written since does not reach the driver.</summary>
    private long _writeGeneration;
    private long _flushedGeneration;

    private readonly string? _name;

    /// <param name="inner">The node's image.</param>
    /// <param name="rules">Its rules.</param>
    /// <param name="name">What the node is called when it is named by a <c>blkdebug:CONFIG:PATH</c> string (QEMU names it so then); null to go by its image's name.</param>
    public BlkdebugStorage(IStorage inner, IReadOnlyList<BlkdebugRule> rules, string? name = null)
    {
        _inner = inner;
        _name = name;
        _rules = new List<BlkdebugRule>[BlkdebugEvents.Count];
        for (var i = 0; i < _rules.Length; i++)
        {
            _rules[i] = [];
        }

        foreach (var rule in rules)
        {
            _rules[(int)rule.Event].Insert(0, rule);
        }

        Event(BlkdebugEvent.None);
    }

    /// <summary>The node's child, which requests pass to.</summary>
    public IStorage Inner => _inner;

    /// <summary>Raises <paramref name="value"/> on <paramref name="storage"/> when it is a blkdebug node; nothing otherwise.</summary>
    public static void Raise(IStorage storage, BlkdebugEvent value)
    {
        if (storage is BlkdebugStorage node)
        {
            node.Event(value);
        }
    }

    /// <summary>When set, every event raised is added to it (qemu-io's breakpoints replay a request's events from it).</summary>
    public List<BlkdebugEvent>? Recorder { get; set; }

    /// <summary>The node's state (1 when opened).</summary>
    public int State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>Runs the event's rules that apply in the current state; the state changes only after all of them ran.</summary>
    public void Event(BlkdebugEvent value)
    {
        lock (_lock)
        {
            Recorder?.Add(value);
            var newState = _state;
            var injections = 0;
            foreach (var rule in _rules[(int)value])
            {
                if (rule.State != 0 && rule.State != _state)
                {
                    continue;
                }

                if (rule.Action == BlkdebugAction.SetState)
                {
                    newState = rule.NewState;
                    continue;
                }

                if (injections++ == 0)
                {
                    _active.Clear();
                }

                _active.Insert(0, rule);
            }

            _state = newState;
        }
    }

    /// <summary>Fails the request when an active rule matches it (QEMU's <c>rule_check</c>).</summary>
    private void Check(long offset, long bytes, BlkdebugIoTypes kind)
    {
        int error;
        lock (_lock)
        {
            var rule = _active.Find(r => (r.Offset == -1 || (bytes > 0 && r.Offset >= offset && r.Offset < offset + bytes)) && (r.IoTypes & kind) != 0);
            if (rule is null || rule.Errno == 0)
            {
                return;
            }

            error = rule.Errno;
            if (rule.Once)
            {
                _active.Remove(rule);
                _rules[(int)rule.Event].Remove(rule);
            }
        }

        throw new IOException(ErrnoText.Strerror(error), error);
    }

    /// <inheritdoc/>
    public string Path => _name ?? _inner.Path;

    /// <inheritdoc/>
    public bool CanWrite => _inner.CanWrite;

    /// <inheritdoc/>
    public long Length => _inner.Length;

    /// <summary>Unknown: QEMU's blkdebug driver is a protocol that cannot tell, so qemu-img prints "unavailable".</summary>
    public long? AllocatedSize => null;

    /// <inheritdoc/>
    public bool IgnoreFlushes
    {
        get => _inner.IgnoreFlushes;
        set => _inner.IgnoreFlushes = value;
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        Check(offset, buffer.Length, BlkdebugIoTypes.Read);
        _inner.Read(offset, buffer);
    }

    /// <inheritdoc/>
    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        Check(offset, buffer.Length, BlkdebugIoTypes.Read);
        return _inner.ReadAvailable(offset, buffer);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        // A failed write counts too: QEMU bumps the node's write generation whatever the result, so the next flush
        // reaches the driver (and an active rule fails it).
        try
        {
            Check(offset, data.Length, BlkdebugIoTypes.Write);
            _inner.Write(offset, data);
        }
        finally
        {
            Interlocked.Increment(ref _writeGeneration);
        }
    }

    /// <inheritdoc/>
    public void SetLength(long length) => _inner.SetLength(length);

    /// <inheritdoc/>
    public void Flush()
    {
        var generation = Interlocked.Read(ref _writeGeneration);
        if (!_inner.CanWrite || _inner.IgnoreFlushes || generation == Interlocked.Read(ref _flushedGeneration))
        {
            return; // read-only, cache=unsafe, or nothing written since the last flush: QEMU does not ask the driver
        }

        Check(0, 0, BlkdebugIoTypes.Flush);
        _inner.Flush();
        Interlocked.Exchange(ref _flushedGeneration, generation);
    }

    /// <inheritdoc/>
    public bool TryAllocate(long offset, long length) => _inner.TryAllocate(offset, length);

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        try
        {
            Check(offset, length, BlkdebugIoTypes.WriteZeroes);
            _inner.WriteZeroes(offset, length, mayUnmap);
        }
        finally
        {
            Interlocked.Increment(ref _writeGeneration);
        }
    }

    /// <inheritdoc/>
    public void Discard(long offset, long length)
    {
        try
        {
            Check(offset, length, BlkdebugIoTypes.Discard);
            _inner.Discard(offset, length);
        }
        finally
        {
            Interlocked.Increment(ref _writeGeneration);
        }
    }

    /// <inheritdoc/>
    public void WriteZeroBytes(long offset, long length)
    {
        try
        {
            Check(offset, length, BlkdebugIoTypes.Write);
            _inner.WriteZeroBytes(offset, length);
        }
        finally
        {
            Interlocked.Increment(ref _writeGeneration);
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        Check(offset, length, BlkdebugIoTypes.BlockStatus);
        return _inner.GetExtents(offset, length);
    }

    /// <inheritdoc/>
    public void Dispose() => _inner.Dispose();
}
