using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// The refcount table and blocks: lookups, updates through a block cache, cluster allocation, and the
/// growth of the structures themselves (new blocks, self-describing blocks, a larger table). Guarded by
/// the image's metadata lock.
/// </summary>
internal sealed class Qcow2Refcounts
{
    private readonly IStorage _file;
    private readonly int _clusterBits;
    private readonly int _clusterSize;
    private readonly int _order;
    private readonly int _blockBits;
    private readonly ulong _max;
    private readonly Qcow2TableCache _cache;
    private readonly Action<long, int> _tableMoved;
    private ulong[] _table;

    /// <summary>One past the last table entry that points at a block, so scans over the blocks stop early.</summary>
    private int _usedEntries;
    private long _tableOffset;
    private long _freeHint;
    private long _highestAllocated;

    public Qcow2Refcounts(IStorage file, Qcow2Header header, long cacheBytes, Action<long, int> tableMoved)
    {
        _file = file;
        _clusterBits = header.ClusterBits;
        _clusterSize = header.ClusterSize;
        _order = header.RefcountOrder;
        _blockBits = _clusterBits + 3 - _order;
        _max = Qcow2RefcountBlock.MaxValue(_order);
        // QEMU raises refblock_load where it updates a count (Allocate), not where it reads one: a miss raises nothing.
        _cache = new Qcow2TableCache(file, _clusterSize, cacheBytes, 4, null, IO.Blkdebug.BlkdebugEvent.RefblockUpdatePart);
        _tableMoved = tableMoved;
        _tableOffset = header.RefcountTableOffset;
        var entries = (int)((long)header.RefcountTableClusters * _clusterSize / 8);
        _table = new ulong[entries];
        var raw = new byte[entries * 8L];
        file.Read(_tableOffset, raw);
        for (var i = 0; i < entries; i++)
        {
            _table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        _usedEntries = CountUsedEntries(_table);

        _highestAllocated = (file.Length + _clusterSize - 1) >> _clusterBits;
    }

    public Qcow2TableCache Cache => _cache;

    /// <summary>Told, before the failure is thrown, of a refcount table entry that cannot point at a block (writable images mark themselves corrupt).</summary>
    public Action<string>? CorruptionFound { get; set; }

    public long TableOffset => _tableOffset;

    public int TableEntries => _table.Length;

    public ulong Max => _max;

    /// <summary>Refcount of a host cluster; clusters no block covers have refcount 0.</summary>
    public ulong Get(long clusterIndex)
    {
        var tableIndex = clusterIndex >> _blockBits;
        if (tableIndex >= _table.Length)
        {
            return 0;
        }

        var blockOffset = BlockOffset(tableIndex);
        if (blockOffset == 0)
        {
            return 0;
        }

        var block = _cache.Get(blockOffset);
        return Qcow2RefcountBlock.Get(block, (int)(clusterIndex & ((1L << _blockBits) - 1)), _order);
    }

    /// <summary>Adds <paramref name="delta"/> to a cluster's refcount; the covering block must exist for increases.</summary>
    public void Add(long clusterIndex, long delta)
    {
        var tableIndex = clusterIndex >> _blockBits;
        if (tableIndex >= _table.Length || BlockOffset(tableIndex) == 0)
        {
            if (delta < 0)
            {
                throw new InvalidImageException($"qcow2: refcount of cluster {clusterIndex} would drop below zero (no refcount block)");
            }

            EnsureBlock(clusterIndex);
            tableIndex = clusterIndex >> _blockBits;
        }

        var blockOffset = BlockOffset(tableIndex);
        var block = _cache.Get(blockOffset);
        var index = (int)(clusterIndex & ((1L << _blockBits) - 1));
        var current = Qcow2RefcountBlock.Get(block, index, _order);
        ulong next;
        if (delta >= 0)
        {
            if ((ulong)delta > _max - current)
            {
                throw new InvalidImageException($"qcow2: refcount of cluster {clusterIndex} would overflow");
            }

            next = current + (ulong)delta;
        }
        else
        {
            if ((ulong)(-delta) > current)
            {
                throw new InvalidImageException($"qcow2: refcount of cluster {clusterIndex} would drop below zero");
            }

            next = current - (ulong)(-delta);
        }

        Qcow2RefcountBlock.Set(block, index, _order, next);
        _cache.MarkDirty(blockOffset);
        if (next == 0 && clusterIndex < _freeHint)
        {
            _freeHint = clusterIndex;
        }

        if (clusterIndex > _highestAllocated && next != 0)
        {
            _highestAllocated = clusterIndex;
        }
    }

    /// <summary>Sets a refcount outright (used by the refcount rebuild); the block must already exist.</summary>
    public void SetExisting(long clusterIndex, ulong value)
    {
        var blockOffset = BlockOffset(clusterIndex >> _blockBits);
        var block = _cache.Get(blockOffset);
        var index = (int)(clusterIndex & ((1L << _blockBits) - 1));
        if (Qcow2RefcountBlock.Get(block, index, _order) != value)
        {
            Qcow2RefcountBlock.Set(block, index, _order, value);
            _cache.MarkDirty(blockOffset);
        }
    }

    /// <summary>Every cluster with a non-zero refcount, in ascending order; ranges without a block are skipped whole.</summary>
    public IEnumerable<(long Cluster, ulong Refcount)> NonZero()
    {
        var blockEntries = 1L << _blockBits;
        var block = new byte[_clusterSize];
        for (long tableIndex = 0; tableIndex < _table.Length; tableIndex++)
        {
            var blockOffset = BlockOffset(tableIndex);
            if (blockOffset == 0)
            {
                continue;
            }

            // A copy: the cache may reuse its buffer while the caller works between items.
            _cache.Get(blockOffset).CopyTo(block, 0);
            for (long i = 0; i < blockEntries; i++)
            {
                var value = Qcow2RefcountBlock.Get(block, (int)i, _order);
                if (value != 0)
                {
                    yield return ((tableIndex << _blockBits) + i, value);
                }
            }
        }
    }

    public bool HasBlockFor(long clusterIndex)
    {
        var tableIndex = clusterIndex >> _blockBits;
        return tableIndex < _table.Length && BlockOffset(tableIndex) != 0;
    }

    /// <summary>Host offsets of every refcount block in use.</summary>
    public IEnumerable<long> BlockOffsets()
    {
        for (var i = 0; i < _usedEntries; i++)
        {
            var offset = BlockOffset(i);
            if (offset != 0)
            {
                yield return offset;
            }
        }
    }

    /// <summary>Whether any refcount block lies in <c>[start, end)</c>; runs on every in-place data write.</summary>
    public bool AnyBlockOverlaps(long start, long end)
    {
        // Callers may not hold the image lock: read the table once and never index past it.
        var table = _table;
        var used = Math.Min(Volatile.Read(ref _usedEntries), table.Length);
        for (var i = 0; i < used; i++)
        {
            var block = (long)(table[i] & Qcow2Constants.RefcountTableOffsetMask);
            if (block != 0 && start < block + _clusterSize && block < end)
            {
                return true;
            }
        }

        return false;
    }

    private static int CountUsedEntries(ulong[] table)
    {
        var used = table.Length;
        while (used > 0 && table[used - 1] == 0)
        {
            used--;
        }

        return used;
    }

    public int TableClusters => (int)((_table.Length * 8L + _clusterSize - 1) >> _clusterBits);

    /// <summary>Clusters covered by the refcount table as it stands.</summary>
    public long CoveredClusters => (long)_table.Length << _blockBits;

    /// <summary>Makes later allocations start at or after <paramref name="clusterIndex"/> (used while rebuilding).</summary>
    public void RaiseAllocationFloor(long clusterIndex)
    {
        _freeHint = Math.Max(_freeHint, clusterIndex);
        _highestAllocated = Math.Max(_highestAllocated, clusterIndex);
    }

    /// <summary>Allocates <paramref name="count"/> contiguous clusters, each with refcount 1, and returns the host offset of the first.</summary>
    public long Allocate(int count)
    {
        {
            // QEMU raises cluster_alloc as an allocation starts and refblock_alloc as it finds the refcount block to
            // count the clusters in; fault injection rules armed on them fail the I/O that follows.
            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.ClusterAlloc);
            var start = FindFreeWithBlocks(count);
            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAlloc);
            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockLoad);
            for (var i = 0L; i < count; i++)
            {
                Add(start + i, 1);
            }

            _freeHint = start + count;
            _highestAllocated = Math.Max(_highestAllocated, start + count - 1);
            return start << _clusterBits;
        }
    }

    /// <summary>
    /// Gives back clusters just taken by <see cref="Allocate"/> whose data could not be written and that nothing references
    /// (QEMU's qcow2_alloc_cluster_abort), so a failed write leaves no leak; the next allocation may take them again.
    /// </summary>
    public void Release(long hostOffset, int count)
    {
        var start = hostOffset >> _clusterBits;
        for (var i = 0L; i < count; i++)
        {
            Add(start + i, -1);
        }

        _freeHint = Math.Min(_freeHint, start);
    }

    /// <summary>Finds a free run whose refcount blocks already exist (creating them first), without taking it.</summary>
    public long FindFreeWithBlocks(int count)
    {
        while (true)
        {
            var start = FindFree(count);
            var ready = true;
            for (var i = 0L; i < count && ready; i++)
            {
                if (!HasBlockFor(start + i))
                {
                    // As QEMU, which counts the run before it finds a cluster for the missing block: the block goes
                    // after the run, not into it. The next search starts where this one did and finds the run again.
                    var hint = _freeHint;
                    _freeHint = start + count;
                    EnsureBlock(start + i);
                    _freeHint = hint;
                    ready = false;
                }
            }

            if (ready)
            {
                return start;
            }
        }
    }

    /// <summary>Creates the refcount block covering a cluster when it is missing (used by the refcount rebuild).</summary>
    public void EnsureBlockFor(long clusterIndex)
    {
        while (!HasBlockFor(clusterIndex))
        {
            EnsureBlock(clusterIndex);
        }
    }

    /// <summary>
    /// No allocation has moved past cluster 0 yet: if its refcount reads 0 (a corrupted refcount block), QEMU's
    /// allocator hands it out, which QEMU refuses for an L2 table as corruption; <see cref="FindFree"/> skips it.
    /// Reads nothing, so the refcount block is loaded where QEMU loads it (after the allocation's event).
    /// </summary>
    public bool SearchStartsAtClusterZero => _freeHint == 0;

    /// <summary>
    /// Finds <paramref name="count"/> free clusters in a row, without taking them. Cluster 0 (the header) is never free.
    /// </summary>
    public long FindFree(int count)
    {
        var candidate = Math.Max(_freeHint, 1);
        var run = 0;
        var position = candidate;
        while (run < count)
        {
            var tableIndex = position >> _blockBits;
            if (tableIndex >= _table.Length || BlockOffset(tableIndex) == 0)
            {
                // Nothing covered here is allocated: the rest of this block's range is free.
                var blockEnd = (tableIndex + 1) << _blockBits;
                var take = Math.Min(count - run, blockEnd - position);
                run += (int)take;
                position += take;
                continue;
            }

            if (Get(position) == 0)
            {
                run++;
                position++;
            }
            else
            {
                run = 0;
                position++;
                candidate = position;
            }
        }

        return candidate;
    }

    /// <summary>
    /// Takes up to <paramref name="count"/> clusters from <paramref name="startCluster"/> on, as long as they are free, each
    /// with refcount 1 (QEMU's allocation at a given offset; the free-space search position does not move). Returns how many.
    /// </summary>
    public long AllocateAt(long startCluster, long count)
    {
        long free;
        while (true)
        {
            free = 0;
            while (free < count && Get(startCluster + free) == 0)
            {
                free++;
            }

            // A missing refcount block is created first; it may land inside the run, which is then counted again.
            var missing = -1L;
            for (var i = 0L; i < free && missing < 0; i++)
            {
                if (!HasBlockFor(startCluster + i))
                {
                    missing = startCluster + i;
                }
            }

            if (missing < 0)
            {
                break;
            }

            EnsureBlock(missing);
        }

        for (var i = 0L; i < free; i++)
        {
            Add(startCluster + i, 1);
        }

        _highestAllocated = Math.Max(_highestAllocated, startCluster + free - 1);
        return free;
    }

    /// <summary>The last cluster below <paramref name="fileLength"/> with a non-zero refcount, or -1 when there is none.</summary>
    public long LastUsedCluster(long fileLength)
    {
        for (var cluster = ((fileLength + _clusterSize - 1) >> _clusterBits) - 1; cluster >= 0; cluster--)
        {
            if (Get(cluster) != 0)
            {
                return cluster;
            }
        }

        return -1;
    }

    /// <summary>
    /// Lays out refcount structures for a file that is to hold <paramref name="startCluster"/> plus
    /// <paramref name="additional"/> clusters, as QEMU does before preallocating a grown range: the refcount blocks
    /// still missing go at <paramref name="startCluster"/> (the first free cluster past everything in use), a new
    /// table of exactly the needed size follows them, every block is written, then the table (synced), then the
    /// header points at it (synced) and the old table is freed. Returns the first cluster after the new table.
    /// </summary>
    public long CreateArea(long startCluster, long additional)
    {
        var perBlock = 1L << _blockBits;
        var entriesPerCluster = _clusterSize / 8L;
        long blocks = 0, tableClusters = 0, total = 0, previous;
        var clusters = startCluster + additional;
        // The fixed point where the blocks and table clusters also count themselves.
        do
        {
            previous = total;
            blocks = (clusters + tableClusters + blocks + perBlock - 1) / perBlock;
            tableClusters = (blocks + entriesPerCluster - 1) / entriesPerCluster;
            total = clusters + blocks + tableClusters;
        }
        while (total != previous);

        // QEMU's limit counts table entries against the byte limit of an existing table.
        if (tableClusters * entriesPerCluster > Qcow2Constants.MaxRefcountTableBytes)
        {
            throw new FileTooLargeException("Failed to resize refcount structures: File too large");
        }

        var newTable = new ulong[tableClusters * entriesPerCluster];
        Array.Copy(_table, newTable, Math.Min(_table.Length, newTable.Length));
        var areaIndex = startCluster >> _blockBits;
        var missing = 0L;
        for (var i = areaIndex; i < blocks; i++)
        {
            if (newTable[i] == 0)
            {
                missing++;
            }
        }

        var tableStart = startCluster + missing;
        var end = tableStart + tableClusters;
        var nextBlock = startCluster;
        for (var i = areaIndex; i < blocks; i++)
        {
            long blockOffset;
            byte[] data;
            if (newTable[i] != 0)
            {
                blockOffset = (long)(newTable[i] & Qcow2Constants.RefcountTableOffsetMask);
                data = _cache.Get(blockOffset);
            }
            else
            {
                blockOffset = nextBlock++ << _clusterBits;
                data = _cache.CreateZeroed(blockOffset);
                newTable[i] = (ulong)blockOffset;
            }

            // The new blocks and the table count once each, in whichever block covers them.
            var firstCovered = i << _blockBits;
            if (firstCovered < end)
            {
                var from = Math.Max(startCluster - firstCovered, 0);
                var to = Math.Min(end - firstCovered, perBlock);
                for (var j = from; j < to; j++)
                {
                    Qcow2RefcountBlock.Set(data, (int)j, _order, 1);
                }

                _cache.MarkDirty(blockOffset);
            }
        }

        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocWriteBlocks);
        _cache.WriteDirty();
        _file.Flush();
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocWriteTable);
        _file.Write(tableStart << _clusterBits, Encode(newTable));
        _file.Flush();
        var oldOffset = _tableOffset;
        var oldClusters = TableClusters;
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocSwitchTable);
        _tableMoved(tableStart << _clusterBits, (int)tableClusters);
        _table = newTable;
        _usedEntries = CountUsedEntries(newTable);
        _tableOffset = tableStart << _clusterBits;
        _highestAllocated = Math.Max(_highestAllocated, end - 1);
        for (var i = 0; i < oldClusters; i++)
        {
            Add((oldOffset >> _clusterBits) + i, -1);
        }

        return end;
    }

    /// <summary>Writes dirty refcount blocks (no sync).</summary>
    public void WriteDirty() => _cache.WriteDirty();

    private long BlockOffset(long tableIndex)
    {
        var entry = _table[tableIndex];
        var offset = (long)(entry & Qcow2Constants.RefcountTableOffsetMask);
        // Bit 63 set in a crafted entry makes the offset negative: as out of range as a huge one.
        if ((offset & (_clusterSize - 1)) != 0 || offset < 0 || offset >= Qcow2Constants.MaxHostOffset)
        {
            var message = $"Refblock offset 0x{offset:x} unaligned (reftable index: 0x{tableIndex:x})";
            CorruptionFound?.Invoke(message);
            throw new InvalidImageException(message, _tableOffset + tableIndex * 8);
        }

        return offset;
    }

    /// <summary>Creates the refcount block covering <paramref name="clusterIndex"/>, growing the table first when needed.</summary>
    private void EnsureBlock(long clusterIndex)
    {
        var tableIndex = clusterIndex >> _blockBits;
        if (tableIndex >= _table.Length)
        {
            GrowTable(tableIndex);
            return;
        }

        if (BlockOffset(tableIndex) != 0)
        {
            return;
        }

        while (true)
        {
            var newBlock = FindFree(1);
            if (newBlock >> _blockBits == tableIndex)
            {
                // The block lies in the range it describes, so it carries its own refcount.
                var data = _cache.CreateZeroed(newBlock << _clusterBits);
                Qcow2RefcountBlock.Set(data, (int)(newBlock & ((1L << _blockBits) - 1)), _order, 1);
                PublishBlock(tableIndex, newBlock);
                return;
            }

            if (!HasBlockFor(newBlock))
            {
                EnsureBlock(newBlock);
                continue;
            }

            Add(newBlock, 1);
            _cache.CreateZeroed(newBlock << _clusterBits);
            PublishBlock(tableIndex, newBlock);
            return;
        }
    }

    /// <summary>Writes the new block and every pending refcount, then points the table entry at it.</summary>
    private void PublishBlock(long tableIndex, long blockCluster)
    {
        _highestAllocated = Math.Max(_highestAllocated, blockCluster);
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocWrite);
        _cache.WriteDirty();
        _file.Flush();
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocHookup);
        _table[tableIndex] = (ulong)(blockCluster << _clusterBits);
        _usedEntries = Math.Max(_usedEntries, (int)tableIndex + 1);
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(entry, _table[tableIndex]);
        _file.Write(_tableOffset + tableIndex * 8, entry);
        _file.Flush();
    }

    /// <summary>
    /// Moves the refcount table to a larger one at the end of the image, together with the new blocks
    /// needed to describe the new table and themselves, then frees the old table.
    /// </summary>
    private void GrowTable(long neededIndex)
    {
        _cache.WriteDirty();
        _file.Flush();
        var end = Math.Max(_highestAllocated + 1, (_file.Length + _clusterSize - 1) >> _clusterBits);
        var entriesPerCluster = _clusterSize / 8;
        var newEntries = Math.Max(neededIndex + 1, _table.Length + (_table.Length / 2) + 1);
        int tableClusters;
        var blockIndices = new List<long>();
        while (true)
        {
            tableClusters = (int)((newEntries + entriesPerCluster - 1) / entriesPerCluster);
            blockIndices.Clear();
            var areaEnd = end;
            // Iterate until the set of new blocks covers the area holding those blocks and the table.
            for (var guard = 0; guard < 64; guard++)
            {
                var total = blockIndices.Count + tableClusters;
                var needed = new List<long>();
                for (var ti = end >> _blockBits; ti <= (end + total - 1) >> _blockBits; ti++)
                {
                    if (ti >= _table.Length || BlockOffset(ti) == 0)
                    {
                        needed.Add(ti);
                    }
                }

                if (needed.Count == blockIndices.Count)
                {
                    break;
                }

                blockIndices = needed;
            }

            var lastIndex = (end + blockIndices.Count + tableClusters - 1) >> _blockBits;
            if (lastIndex < newEntries && neededIndex < newEntries)
            {
                break;
            }

            newEntries = Math.Max(newEntries, lastIndex + 1) + entriesPerCluster;
        }

        var newTableEntries = (long)tableClusters * entriesPerCluster;
        if (newTableEntries * 8 > Qcow2Constants.MaxRefcountTableBytes)
        {
            throw new InvalidImageException("Reference count table too large");
        }

        var newTable = new ulong[newTableEntries];
        Array.Copy(_table, newTable, _table.Length);
        var blocks = new Dictionary<long, byte[]>();
        for (var i = 0; i < blockIndices.Count; i++)
        {
            newTable[blockIndices[i]] = (ulong)((end + i) << _clusterBits);
            blocks[blockIndices[i]] = new byte[_clusterSize];
        }

        var tableStart = end + blockIndices.Count;
        for (var cluster = end; cluster < tableStart + tableClusters; cluster++)
        {
            var ti = cluster >> _blockBits;
            if (blocks.TryGetValue(ti, out var block))
            {
                Qcow2RefcountBlock.Set(block, (int)(cluster & ((1L << _blockBits) - 1)), _order, 1);
            }
            else
            {
                Add(cluster, 1);
            }
        }

        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocWriteBlocks);
        foreach (var (ti, block) in blocks)
        {
            _file.Write((long)newTable[ti], block);
        }

        _cache.WriteDirty();
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocWriteTable);
        _file.Write(tableStart << _clusterBits, Encode(newTable));
        _file.Flush();
        var oldOffset = _tableOffset;
        var oldClusters = TableClusters;
        _highestAllocated = Math.Max(_highestAllocated, tableStart + tableClusters - 1);

        // The header points at the new table first; if that fails the old table stays in use (the new one leaks).
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocSwitchTable);
        _tableMoved(tableStart << _clusterBits, tableClusters);
        _table = newTable;
        _usedEntries = CountUsedEntries(newTable);
        _tableOffset = tableStart << _clusterBits;
        for (var i = 0; i < oldClusters; i++)
        {
            Add((oldOffset >> _clusterBits) + i, -1);
        }
    }

    /// <summary>A refcount table as it lies on disk: big-endian 64-bit entries.</summary>
    private static byte[] Encode(ulong[] table)
    {
        var raw = new byte[table.Length * 8L];
        for (var i = 0; i < table.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), table[i]);
        }

        return raw;
    }
}
