using DiskImage.IO;

namespace DiskImage.Formats.Filters.LogWrites;

/// <summary>
/// The blklogwrites node's view of its file: every write, write-zeroes and discard goes to the file and is then
/// recorded in the log (see <see cref="LogWritesLog"/>) in whole log sectors, as QEMU's request alignment makes them (a
/// partial sector is completed with the file's bytes first). A flush after changes records a flush entry; the
/// superblock is rewritten on each flush and every <c>log-super-update-interval</c> entries. Reads pass through.
/// </summary>
internal sealed class LogWritesStorage : IStorage
{
    private readonly IStorage _file;
    private readonly IStorage _log;
    private readonly uint _sectorSize;
    private readonly ulong _interval;
    private readonly Lock _gate = new();
    private ulong _nextSector;
    private ulong _entries;

    /// <summary>Changes so far and at the last flush: QEMU's block layer passes a flush to the node only when they differ.</summary>
    private ulong _generation;
    private ulong _flushedGeneration;

    /// <summary>The generation before the last write, or null when the last change was no write (a discard, a resize).</summary>
    private ulong? _beforeLastWrite;

    public LogWritesStorage(IStorage file, IStorage log, LogWritesLog.Tail start, ulong interval)
    {
        _file = file;
        _log = log;
        _sectorSize = start.SectorSize;
        _nextSector = start.NextSector;
        _entries = start.Entries;
        _interval = interval;
    }

    public string Path => _file.Path;

    public bool CanWrite => _file.CanWrite;

    public long Length => _file.Length;

    public long? AllocatedSize => _file.AllocatedSize;

    public bool IgnoreFlushes
    {
        get => _file.IgnoreFlushes;
        set => _file.IgnoreFlushes = value;
    }

    public void Read(long offset, Span<byte> buffer) => _file.Read(offset, buffer);

    public int ReadAvailable(long offset, Span<byte> buffer) => _file.ReadAvailable(offset, buffer);

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            var (start, end) = Aligned(offset, data.Length);
            var whole = new byte[end - start];
            if (start != offset || end != offset + data.Length)
            {
                _file.Read(start, whole);
            }

            data.CopyTo(whole.AsSpan((int)(offset - start)));
            Changed(isWrite: true);
            _file.Write(start, whole);
            Record(start, whole.Length, 0, whole, zeroBytes: 0);
        }
    }

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        if (length == 0)
        {
            return;
        }

        var (start, end) = Aligned(offset, length);
        if (start != offset || end != offset + length || end - start > int.MaxValue)
        {
            // Partial sectors are written as data (with the file's bytes around them), as QEMU's alignment does.
            WriteZeroBytes(offset, length);
            return;
        }

        lock (_gate)
        {
            Changed(isWrite: true);
            _file.WriteZeroes(offset, length, mayUnmap);
            Record(offset, length, 0, [], zeroBytes: length);
        }
    }

    public void Discard(long offset, long length)
    {
        lock (_gate)
        {
            // Only whole log sectors are discarded; the partial ones at either end are left as they are.
            var start = RoundUp(offset);
            var end = (offset + length) / _sectorSize * _sectorSize;
            if (end <= start)
            {
                return;
            }

            Changed(isWrite: false);
            _file.Discard(start, end - start);
            Record(start, end - start, LogWritesLog.DiscardFlag, [], zeroBytes: 0);
        }
    }

    public void WriteZeroBytes(long offset, long length)
    {
        const int chunk = 1 << 20;
        var zeroes = new byte[(int)Math.Min(length, chunk)];
        for (var done = 0L; done < length; done += zeroes.Length)
        {
            Write(offset + done, zeroes.AsSpan(0, (int)Math.Min(zeroes.Length, length - done)));
        }
    }

    public void SetLength(long length)
    {
        lock (_gate)
        {
            Changed(isWrite: false);
            _file.SetLength(length);
        }
    }

    public void Flush()
    {
        lock (_gate)
        {
            FlushAt(_generation);
        }
    }

    /// <summary>
    /// The flush a writethrough cache makes after each command (qemu-io's default). QEMU's backend flushes after writes
    /// only, and that flush does not yet count the write just made as a change (it is counted when the request
    /// finishes, after the flush): so the first write's flush does nothing, and each later one logs the writes before.
    /// </summary>
    public void FlushAfterCommand()
    {
        lock (_gate)
        {
            if (_beforeLastWrite is { } before)
            {
                _beforeLastWrite = null;
                FlushAt(before);
            }
        }
    }

    private void FlushAt(ulong generation)
    {
        if (generation == _flushedGeneration)
        {
            return;
        }

        _flushedGeneration = generation;
        _file.Flush();
        Record(0, 0, LogWritesLog.FlushFlag, [], zeroBytes: 0);
    }

    /// <summary>
    /// A write request that failed in the node (a compressed write, which it cannot store): QEMU's block layer counts it
    /// as a change all the same, so the next flush is logged, while no writethrough flush follows a failed write.
    /// </summary>
    public void CountFailedWrite()
    {
        lock (_gate)
        {
            _generation++;
            _beforeLastWrite = null;
        }
    }

    private void Changed(bool isWrite)
    {
        _beforeLastWrite = isWrite ? _generation : null;
        _generation++;
    }

    public bool TryAllocate(long offset, long length) => false;

    public IReadOnlyList<Extent> GetExtents(long offset, long length) => _file.GetExtents(offset, length);

    /// <summary>Closing flushes what changed, as QEMU's close does, which logs the last flush entry.</summary>
    public void Dispose()
    {
        try
        {
            if (_file.CanWrite)
            {
                Flush();
            }
        }
        finally
        {
            _log.Dispose();
            _file.Dispose();
        }
    }

    /// <summary>Appends an entry (and its data, or <paramref name="zeroBytes"/> zeroes) and updates the superblock when due.</summary>
    private void Record(long offset, long length, ulong flags, ReadOnlySpan<byte> data, long zeroBytes)
    {
        var bits = System.Numerics.BitOperations.Log2(_sectorSize);
        var at = LogOffset(_nextSector, bits);
        var entry = LogWritesLog.Entry((ulong)offset >> bits, (ulong)length >> bits, flags, data, _sectorSize);
        _entries++;
        _nextSector += (ulong)entry.Length >> bits;
        _log.Write(at, entry);
        if (zeroBytes > 0)
        {
            var zeroesAt = LogOffset(_nextSector, bits);
            _nextSector += (ulong)zeroBytes >> bits;
            var inside = Math.Clamp(_log.Length - zeroesAt, 0, zeroBytes);
            if (inside > 0)
            {
                _log.WriteZeroes(zeroesAt, inside, mayUnmap: false);
            }

            if (zeroesAt + zeroBytes > _log.Length)
            {
                _log.SetLength(zeroesAt + zeroBytes);
            }
        }

        if ((flags & LogWritesLog.FlushFlag) != 0 || _entries % _interval == 0)
        {
            _log.Write(0, LogWritesLog.Superblock(_entries, _sectorSize));
            _log.Flush();
        }
    }

    /// <summary>The byte offset of a log sector; a log appended to past any file's reach fails as a too-large write.</summary>
    private static long LogOffset(ulong sector, int bits) =>
        sector <= (ulong)(long.MaxValue >> bits) ? (long)(sector << bits) : throw new ErrnoException(ErrnoException.EFBIG, "File too large");

    private (long Start, long End) Aligned(long offset, long length) => (offset / _sectorSize * _sectorSize, RoundUp(offset + length));

    private long RoundUp(long value) => (value + _sectorSize - 1) / _sectorSize * _sectorSize;
}
