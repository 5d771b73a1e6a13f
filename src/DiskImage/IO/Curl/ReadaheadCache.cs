namespace DiskImage.IO.Curl;

/// <summary>
/// The last few ranges fetched from a remote file, each the bytes a read asked for plus a read-ahead, so that runs of
/// small sequential reads (a format's metadata) cost one request between them. A read the cache cannot serve whole
/// fetches <c>[offset, offset + length + readahead)</c>, clipped to the file, and replaces the oldest entry. Memory is
/// bounded by <see cref="MaxEntries"/> entries of at most <see cref="MaxEntryBytes"/> each: reads larger than that
/// are fetched past the cache. Thread-safe; fetches run outside the lock.
/// </summary>
internal sealed class ReadaheadCache
{
    /// <summary>How many ranges are kept (QEMU's driver keeps eight transfers' buffers).</summary>
    public const int MaxEntries = 8;

    private readonly Func<long, int, byte[]> _fetch;
    private readonly long _fileLength;
    private readonly long _readahead;
    private readonly LinkedList<(long Start, byte[] Data)> _entries = new();
    private readonly object _gate = new();

    /// <param name="fetch">Returns exactly the requested count of bytes starting at the offset (or throws).</param>
    /// <param name="fileLength">The remote file's length; nothing past it is fetched.</param>
    /// <param name="readahead">Bytes fetched beyond each read the cache misses.</param>
    public ReadaheadCache(Func<long, int, byte[]> fetch, long fileLength, long readahead)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentOutOfRangeException.ThrowIfNegative(fileLength);
        ArgumentOutOfRangeException.ThrowIfNegative(readahead);
        _fetch = fetch;
        _fileLength = fileLength;
        _readahead = readahead;
        MaxEntryBytes = (int)Math.Min(int.MaxValue, readahead + (4L * 1024 * 1024));
    }

    /// <summary>The largest range an entry holds; longer reads go straight to the server.</summary>
    public int MaxEntryBytes { get; }

    /// <summary>How many fetches were made (for tests and statistics).</summary>
    public int Fetches { get; private set; }

    /// <summary>
    /// Fills <paramref name="buffer"/> from <paramref name="offset"/>; bytes past the end of the file are zeroes.
    /// </summary>
    public void Read(long offset, Span<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var available = (int)Math.Clamp(_fileLength - offset, 0, buffer.Length);
        buffer[available..].Clear();
        if (available == 0)
        {
            return;
        }

        var wanted = buffer[..available];
        if (TryCopy(offset, wanted))
        {
            return;
        }

        var length = Math.Min(available + _readahead, _fileLength - offset);
        if (length > MaxEntryBytes)
        {
            // Too large to keep: read exactly what was asked, in pieces no larger than an entry.
            for (var done = 0; done < available;)
            {
                var n = Math.Min(MaxEntryBytes, available - done);
                Fetched(_fetch(offset + done, n), n).CopyTo(wanted[done..]);
                done += n;
            }

            return;
        }

        var data = Fetched(_fetch(offset, (int)length), (int)length);
        data.AsSpan(0, available).CopyTo(wanted);
        lock (_gate)
        {
            _entries.AddFirst((offset, data));
            if (_entries.Count > MaxEntries)
            {
                _entries.RemoveLast();
            }
        }
    }

    /// <summary>Forgets every cached range.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }

    private byte[] Fetched(byte[] data, int expected)
    {
        lock (_gate)
        {
            Fetches++;
        }

        return data.Length == expected ? data : throw new InvalidOperationException($"Fetched {data.Length} bytes where {expected} were asked for");
    }

    private bool TryCopy(long offset, Span<byte> wanted)
    {
        lock (_gate)
        {
            for (var node = _entries.First; node is not null; node = node.Next)
            {
                var (start, data) = node.Value;
                if (offset >= start && offset + wanted.Length <= start + data.Length)
                {
                    data.AsSpan((int)(offset - start), wanted.Length).CopyTo(wanted);
                    if (node != _entries.First)
                    {
                        // Most recently used first, so the oldest is what goes.
                        _entries.Remove(node);
                        _entries.AddFirst(node);
                    }

                    return true;
                }
            }
        }

        return false;
    }
}
