using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Changing the refcount width of an existing image (<c>qemu-img amend -o refcount_bits=N</c>). The new
/// table and blocks are built beside the old ones in clusters the old structure allocates, so until the
/// single header write that switches to them the old structure stays valid (a crash only leaks clusters).
/// After the switch the old table and blocks are freed through the new structure.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// QEMU's figures for one of its three walks over the refcount table (allocating the new structure, confirming
    /// it needs nothing more, writing it): one per table entry, empty or not, and one at the walk's end.
    /// </summary>
    private static void ReportRefcountWalk(AmendFigures? figures, long entries, int walk)
    {
        const int Walks = 3;
        for (var index = 0L; index <= entries && figures is not null; index++)
        {
            figures.Report(AmendOperation.RefcountOrder, (walk * entries) + index, Walks * entries);
        }
    }

    /// <summary>Refuses a width too narrow for a refcount the image holds (before anything is written).</summary>
    private void ValidateRefcountOrderLocked(int newOrder)
    {
        var newMax = Qcow2RefcountBlock.MaxValue(newOrder);
        foreach (var (cluster, refcount) in _refcounts!.NonZero())
        {
            if (refcount > newMax)
            {
                throw new InvalidOptionException($"Cannot decrease refcount entry width to {1 << newOrder} bits: Cluster at offset 0x{cluster << _clusterBits:x} has a refcount of {refcount}");
            }
        }
    }

    private void ChangeRefcountOrderLocked(int newOrder, CancellationToken cancellationToken, AmendFigures? figures = null)
    {
        FlushMetadataLocked();
        ValidateRefcountOrderLocked(newOrder);
        var old = _refcounts!;
        var entries = (long)old.TableClusters << (_clusterBits - 3);

        var (blocks, tableCluster, tableClusters) = AllocateRefcountStructure(old, newOrder);
        ReportRefcountWalk(figures, entries, 0);
        ReportRefcountWalk(figures, entries, 1);
        old.WriteDirty();
        _file.Flush();

        // Everything the new blocks describe is final now: copy every refcount across at the new width.
        WriteConvertedRefcountBlocks(old, newOrder, blocks, cancellationToken);
        ReportRefcountWalk(figures, entries, 2);
        cancellationToken.ThrowIfCancellationRequested();
        var table = new byte[(long)tableClusters << _clusterBits];
        foreach (var (index, blockCluster) in blocks)
        {
            BinaryPrimitives.WriteInt64BigEndian(table.AsSpan((int)(index * 8)), blockCluster << _clusterBits);
        }

        _file.Write(tableCluster << _clusterBits, table);
        _file.Flush();

        var oldClusters = old.BlockOffsets().Select(o => o >> _clusterBits).ToList();
        for (var i = 0; i < old.TableClusters; i++)
        {
            oldClusters.Add((old.TableOffset >> _clusterBits) + i);
        }

        _header = _header with
        {
            RefcountOrder = newOrder,
            RefcountTableOffset = tableCluster << _clusterBits,
            RefcountTableClusters = tableClusters,
        };
        WriteHeaderLocked();
        _file.Flush();
        _refcounts = new Qcow2Refcounts(_file, _header, DefaultRefcountCacheBytes, OnRefcountTableMoved);
        _pendingFrees.AddRange(oldClusters);
        FlushMetadataLocked();
    }

    /// <summary>
    /// Allocates (in the old structure) one new block for every new-width block range holding a non-zero
    /// refcount, and a table large enough for them. Each allocation may itself need a new block or a larger
    /// table, so this repeats until a pass allocates nothing. Returns table index to block cluster.
    /// </summary>
    private (SortedDictionary<long, long> Blocks, long TableCluster, int TableClusters) AllocateRefcountStructure(Qcow2Refcounts old, int newOrder)
    {
        var newBlockBits = _clusterBits + 3 - newOrder;
        var blocks = new SortedDictionary<long, long>();
        long tableCluster = 0;
        var tableClusters = 0;
        while (true)
        {
            var missing = new List<long>();
            foreach (var (cluster, _) in old.NonZero())
            {
                var index = cluster >> newBlockBits;
                if (!blocks.ContainsKey(index) && (missing.Count == 0 || missing[^1] != index))
                {
                    missing.Add(index);
                }
            }

            if (missing.Count > 0)
            {
                foreach (var index in missing)
                {
                    blocks[index] = old.Allocate(1) >> _clusterBits;
                }

                continue;
            }

            var entries = blocks.Count == 0 ? 1 : blocks.Keys.Max() + 1;
            var bytes = entries * 8;
            if (bytes > Qcow2Constants.MaxRefcountTableBytes)
            {
                throw new InvalidImageException("Reference count table too large");
            }

            var needed = (int)((bytes + _clusterSize - 1) >> _clusterBits);
            if (needed <= tableClusters)
            {
                return (blocks, tableCluster, tableClusters);
            }

            if (tableClusters > 0)
            {
                for (var i = 0; i < tableClusters; i++)
                {
                    old.Add(tableCluster + i, -1);
                }
            }

            tableCluster = old.Allocate(needed) >> _clusterBits;
            tableClusters = needed;
        }
    }

    /// <summary>Writes every new block: the old refcounts of its range at the new width (zero where none).</summary>
    private void WriteConvertedRefcountBlocks(Qcow2Refcounts old, int newOrder, SortedDictionary<long, long> blocks, CancellationToken cancellationToken)
    {
        var newBlockBits = _clusterBits + 3 - newOrder;
        var entryMask = (1L << newBlockBits) - 1;
        var buffer = new byte[_clusterSize];
        var written = new HashSet<long>();
        var current = -1L;
        foreach (var (cluster, refcount) in old.NonZero())
        {
            var index = cluster >> newBlockBits;
            if (index != current)
            {
                // The header still names the old structure: stopping here leaks the new blocks, nothing more.
                cancellationToken.ThrowIfCancellationRequested();
                if (current >= 0)
                {
                    _file.Write(blocks[current] << _clusterBits, buffer);
                    written.Add(current);
                }

                Array.Clear(buffer);
                current = index;
            }

            Qcow2RefcountBlock.Set(buffer, (int)(cluster & entryMask), newOrder, refcount);
        }

        if (current >= 0)
        {
            _file.Write(blocks[current] << _clusterBits, buffer);
            written.Add(current);
        }

        Array.Clear(buffer);
        foreach (var (index, blockCluster) in blocks)
        {
            if (!written.Contains(index))
            {
                _file.Write(blockCluster << _clusterBits, buffer);
            }
        }

        _file.Flush();
    }
}
