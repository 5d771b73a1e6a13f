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

            EnsureBlockFor(clusterIndex);
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
                    _freeHint = start + count;
                    EnsureBlock(start + i);
                    // As QEMU, the search starts again at the run, or lower when growing the table freed the old one.
                    _freeHint = Math.Min(_freeHint, start);
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

            // As QEMU, which counts the run cluster by cluster and finds the block missing only at its first
            // uncovered cluster: the clusters before it already count as used while the block's cluster is
            // searched for, so the block goes after them (often right at the uncovered cluster), then their counts
            // are taken back and the search position drops to the run's start.
            for (var i = startCluster; i < missing; i++)
            {
                Add(i, 1);
            }

            EnsureBlock(missing);
            for (var i = startCluster; i < missing; i++)
            {
                Add(i, -1);
            }

            _freeHint = Math.Min(_freeHint, startCluster);
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
    public long CreateArea(long startCluster, long additional) =>
        CreateArea(startCluster, additional, exactSize: true, -1, 0, "Failed to resize refcount structures: File too large");

    /// <summary>
    /// The number of refcount blocks that cover <paramref name="clusters"/> clusters together with themselves and
    /// their table; with <paramref name="generous"/>, also room for the half again larger table QEMU gives a table
    /// that grows on its own (its <c>qcow2_refcount_metadata_size</c> rule).
    /// </summary>
    private long BlocksCovering(long clusters, bool generous)
    {
        var perBlock = 1L << _blockBits;
        var entriesPerCluster = _clusterSize / 8L;
        long blocks = 0, tableClusters = 0, total = 0, previous;
        // The fixed point where the blocks and table clusters also count themselves.
        do
        {
            previous = total;
            blocks = (clusters + tableClusters + blocks + perBlock - 1) / perBlock;
            tableClusters = (blocks + entriesPerCluster - 1) / entriesPerCluster;
            total = clusters + blocks + tableClusters;
            if (total == previous && generous)
            {
                // Counted once more with half the table's clusters added, then settled again.
                clusters += (tableClusters + 1) / 2;
                total = 0;
                generous = false;
            }
        }
        while (total != previous);

        return blocks;
    }

    /// <summary>
    /// Self-describing refcount structures from <paramref name="startCluster"/> on (only free space past it): the
    /// missing blocks, then the new table (exactly sized, or half again as large as the blocks need when
    /// <paramref name="exactSize"/> is false), each block written, then the table (synced), then the header, then
    /// the old table freed. A block already written for table entry <paramref name="newBlockIndex"/> at cluster
    /// <paramref name="newBlockCluster"/> goes into the new table (QEMU's table growth). Returns the first cluster
    /// after the new table.
    /// </summary>
    private long CreateArea(long startCluster, long additional, bool exactSize, long newBlockIndex, long newBlockCluster, string tooLarge)
    {
        var perBlock = 1L << _blockBits;
        var entriesPerCluster = _clusterSize / 8L;
        var blocks = BlocksCovering(startCluster + additional, !exactSize);
        var tableEntries = exactSize ? blocks : blocks + ((blocks + 1) / 2);
        var tableClusters = (tableEntries + entriesPerCluster - 1) / entriesPerCluster;

        // QEMU's limit counts table entries against the byte limit of an existing table.
        if (blocks > Qcow2Constants.MaxRefcountTableBytes || tableClusters * entriesPerCluster > Qcow2Constants.MaxRefcountTableBytes)
        {
            throw new FileTooLargeException(tooLarge);
        }

        var newTable = new ulong[tableClusters * entriesPerCluster];
        Array.Copy(_table, newTable, Math.Min(_table.Length, newTable.Length));
        if (newBlockIndex >= 0)
        {
            newTable[newBlockIndex] = (ulong)(newBlockCluster << _clusterBits);
        }

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
        // The header points at the new table first; if that fails the old table stays in use (the new one leaks).
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

    /// <summary>
    /// Creates the refcount block covering <paramref name="clusterIndex"/> where QEMU puts it: in the first free
    /// cluster (describing itself when it lies in its own range). When the table has no entry for it, the block is
    /// written first and a larger table follows, as QEMU grows it.
    /// </summary>
    private void EnsureBlock(long clusterIndex)
    {
        var tableIndex = clusterIndex >> _blockBits;
        if (tableIndex < _table.Length && BlockOffset(tableIndex) != 0)
        {
            return;
        }

        var newBlock = FindFree(1);
        if (newBlock >> _blockBits == tableIndex)
        {
            // The block lies in the range it describes, so it carries its own refcount.
            var data = _cache.CreateZeroed(newBlock << _clusterBits);
            Qcow2RefcountBlock.Set(data, (int)(newBlock & ((1L << _blockBits) - 1)), _order, 1);
        }
        else
        {
            if (!HasBlockFor(newBlock))
            {
                // As QEMU: the cluster just found is skipped while the block counting it is made, and then the
                // whole allocation starts over (callers loop until the block exists), so the first block often
                // takes the cluster the second one passed over.
                _freeHint = newBlock + 1;
                EnsureBlock(newBlock);
                return;
            }

            Add(newBlock, 1);
            _cache.CreateZeroed(newBlock << _clusterBits);
        }

        if (tableIndex < _table.Length)
        {
            PublishBlock(tableIndex, newBlock);
            return;
        }

        _highestAllocated = Math.Max(_highestAllocated, newBlock);
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAllocWrite);
        _cache.WriteDirty();
        _file.Flush();
        GrowTable(tableIndex, newBlock);
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
    /// Replaces a full table by a larger one, QEMU's way: the refcount structures start at the first refcount-block
    /// boundary past both the cluster that needed a block and that block (already written at
    /// <paramref name="blockCluster"/>), and the table gets half again as many entries as the blocks then need.
    /// </summary>
    private void GrowTable(long tableIndex, long blockCluster)
    {
        IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.ReftableGrow);
        var blocksUsed = Math.Max(tableIndex, blockCluster >> _blockBits) + 1;
        CreateArea(blocksUsed << _blockBits, 0, exactSize: false, tableIndex, blockCluster, "File too large");
    }

    /// <summary>
    /// Drops from the table every refcount block that counts no cluster but, perhaps, itself (QEMU's
    /// <c>qcow2_shrink_reftable</c>, run by a shrink): the table without them is written (synced) first, then each
    /// dropped block's own refcount is cleared in the block that counts it, so a crash in between leaks the
    /// block and never leaves the table pointing at a freed cluster. Returns the dropped blocks' clusters (to be
    /// discarded); their refcount changes still have to be written.
    /// </summary>
    public List<long> DropUnusedBlocks()
    {
        var dropped = new List<(long Index, long Cluster)>();
        var newTable = (ulong[])_table.Clone();
        var mask = (1L << _blockBits) - 1;
        for (var i = 0; i < _usedEntries; i++)
        {
            var offset = BlockOffset(i);
            if (offset == 0)
            {
                continue;
            }

            var cluster = offset >> _clusterBits;
            var block = _cache.Get(offset);
            var own = cluster >> _blockBits == i ? (int)(cluster & mask) : -1;
            if (CountsNothingBut(block, own))
            {
                newTable[i] = 0;
                dropped.Add((i, cluster));
            }
        }

        var clusters = new List<long>(dropped.Count);
        if (dropped.Count == 0)
        {
            return clusters;
        }

        _file.Write(_tableOffset, Encode(newTable));
        _file.Flush();
        foreach (var (index, cluster) in dropped)
        {
            if (cluster >> _blockBits != index)
            {
                // Counted in a block that stays: that block counts it, so it is not among the dropped ones.
                if (Get(cluster) != 1)
                {
                    var message = $"Invalid refcount: refblock offset 0x{BlockOffset(cluster >> _blockBits):x}, reftable index {cluster >> _blockBits}, block offset 0x{cluster << _clusterBits:x}, refcount {Get(cluster)}";
                    CorruptionFound?.Invoke(message);
                    throw new InvalidImageException(message);
                }

                Add(cluster, -1);
            }

            // A self-counting block goes with its own count; neither is written again.
            _cache.Remove(cluster << _clusterBits);
            _freeHint = Math.Min(_freeHint, cluster);
            clusters.Add(cluster);
        }

        _table = newTable;
        _usedEntries = CountUsedEntries(newTable);
        return clusters;
    }

    /// <summary>Whether every refcount in a block is 0, apart from the one at <paramref name="skip"/> (-1: none).</summary>
    private bool CountsNothingBut(byte[] block, int skip)
    {
        var entries = 1 << _blockBits;
        for (var j = 0; j < entries; j++)
        {
            if (j != skip && Qcow2RefcountBlock.Get(block, j, _order) != 0)
            {
                return false;
            }
        }

        return true;
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
