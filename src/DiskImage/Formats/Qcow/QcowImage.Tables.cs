using System.Buffers.Binary;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Formats.Qcow;

/// <summary>Cluster lookup through the L1 and L2 tables, and their growth (always at the end of the file).</summary>
public sealed partial class QcowImage
{
    private const ulong CompressedFlag = 1UL << 63;

    /// <summary>QEMU keeps 16 L2 tables in memory; so does this reader (at most 1 MiB with 64 KiB tables).</summary>
    private const int L2CacheTables = 16;

    private readonly Dictionary<long, ulong[]> _l2Cache = [];
    private readonly Queue<long> _l2CacheOrder = new();

    private int L2TableBytes => 8 << _l2Bits;

    private static bool IsCompressed(ulong entry) => (entry & CompressedFlag) != 0;

    private static InvalidImageException IoError() => new("Input/output error");

    /// <summary>The L2 entry of the cluster holding guest byte <paramref name="offset"/> (0: not allocated).</summary>
    private ulong EntryLocked(long offset)
    {
        var l2Offset = L1At(offset >> (_l2Bits + _clusterBits));
        return l2Offset == 0 ? 0 : L2TableLocked(l2Offset)[L2Index(offset)];
    }

    private int L2Index(long offset) => (int)((offset >> _clusterBits) & ((1L << _l2Bits) - 1));

    private ulong L1At(long index) => index < _l1.Length ? _l1[index] : 0;

    /// <summary>An L2 table, from the cache or the file; a table offset no file can have is an I/O error, as in QEMU.</summary>
    private ulong[] L2TableLocked(ulong l2Offset)
    {
        if (l2Offset > (ulong)(long.MaxValue - L2TableBytes))
        {
            throw IoError();
        }

        if (_l2Cache.TryGetValue((long)l2Offset, out var cached))
        {
            return cached;
        }

        var raw = new byte[L2TableBytes];
        BlkdebugStorage.Raise(_file, BlkdebugEvent.L2Load);
        _file.Read((long)l2Offset, raw);
        var table = new ulong[1 << _l2Bits];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        CacheL2Locked((long)l2Offset, table);
        return table;
    }

    private void CacheL2Locked(long l2Offset, ulong[] table)
    {
        if (_l2Cache.Count >= L2CacheTables)
        {
            _l2Cache.Remove(_l2CacheOrder.Dequeue());
        }

        _l2Cache[l2Offset] = table;
        _l2CacheOrder.Enqueue(l2Offset);
    }

    /// <summary>
    /// The L2 table for a write at <paramref name="offset"/>, allocating it when the L1 entry is empty: the zeroed
    /// table is written at the end of the file before the L1 entry points at it, so a crash leaks it at worst.
    /// </summary>
    private (ulong[] Table, long TableOffset) L2ForWriteLocked(long offset)
    {
        var l1Index = offset >> (_l2Bits + _clusterBits);
        var l2Offset = L1At(l1Index);
        if (l2Offset != 0)
        {
            return (L2TableLocked(l2Offset), (long)l2Offset);
        }

        var tableOffset = AllocateLocked(L2TableBytes, alignToCluster: true);
        BlkdebugStorage.Raise(_file, BlkdebugEvent.L2Load);
        _file.WriteZeroBytes(tableOffset, L2TableBytes);
        _file.Flush();
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(entry, (ulong)tableOffset);
        BlkdebugStorage.Raise(_file, BlkdebugEvent.L1Update);
        _file.Write((long)_header.L1TableOffset + (l1Index * 8), entry);
        _file.Flush();
        if (l1Index >= _l1.Length)
        {
            Array.Resize(ref _l1, (int)l1Index + 1);
        }

        _l1[l1Index] = (ulong)tableOffset;
        var table = new ulong[1 << _l2Bits];
        CacheL2Locked(tableOffset, table);
        return (table, tableOffset);
    }

    /// <summary>
    /// Makes every cluster unallocated (reads fall through to the backing file), as QEMU's make_empty after a commit:
    /// the L1 table is zeroed on disk first, then the file is cut right after it (a crash in between leaves only
    /// unreferenced clusters behind).
    /// </summary>
    internal void MakeEmpty()
    {
        CheckWritable();
        lock (_lock)
        {
            var l1Bytes = _header.L1Entries * 8;
            _file.WriteZeroBytes((long)_header.L1TableOffset, l1Bytes);
            _file.Flush();
            _file.SetLength((long)_header.L1TableOffset + l1Bytes);
            _file.Flush();
            Array.Clear(_l1);
            _l2Cache.Clear();
            _l2CacheOrder.Clear();
            _cachedCompressedOffset = -1;
            _end = _file.Length;
        }
    }

    /// <summary>Points an L2 entry at a cluster whose content is already in the file.</summary>
    private void SetL2EntryLocked(ulong[] table, long tableOffset, int index, ulong value)
    {
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(entry, value);
        _file.Write(tableOffset + (index * 8L), entry);
        _file.Flush();
        table[index] = value;
    }

    /// <summary>Room for <paramref name="bytes"/> at the end of the file (cluster-aligned for tables and data clusters).</summary>
    private long AllocateLocked(long bytes, bool alignToCluster)
    {
        var start = alignToCluster ? (_end + _clusterSize - 1) & ~((long)_clusterSize - 1) : _end;
        if (start > long.MaxValue - bytes)
        {
            throw new ErrnoException(ErrnoException.EFBIG, ErrnoException.Text(ErrnoException.EFBIG));
        }

        _end = start + bytes;
        return start;
    }

    /// <summary>File offset of an uncompressed cluster; QEMU refuses entries that are not sector-aligned.</summary>
    private long DataOffset(ulong entry) =>
        (entry & 511) != 0 || entry > (ulong)(long.MaxValue - _clusterSize) ? throw IoError() : (long)entry;
}
