using System.Buffers.Binary;
using DiskImage.Operations;

namespace DiskImage.Formats.Qcow2;

/// <summary>The zero-cluster expansion of a downgrade to version 2, over the active table and every snapshot's.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Replaces every zero-flagged cluster, the active image's first (through the L2 cache), then each snapshot's
    /// (tables read and written directly, after the cache has been written out and emptied, since snapshot tables may
    /// be the active ones). A zero cluster with a host cluster gets that cluster zeroed; one without becomes unallocated
    /// (no backing file) or gets a zeroed cluster of its own, referenced as often as its L2 table is. Progress counts
    /// the L1 entries of all the tables walked, as QEMU's does.
    /// </summary>
    private void ExpandZeroClustersLocked(AmendFigures figures, CancellationToken cancellationToken)
    {
        long total = _l1.Length;
        foreach (var snapshot in _snapshots)
        {
            total += snapshot.L1Size;
        }

        long visited = 0;
        ExpandZeroClustersInL1Locked(_l1, active: true, ref visited, total, figures, cancellationToken);
        if (_snapshots.Count == 0)
        {
            return;
        }

        FlushMetadataLocked();
        _l2Cache.Clear();
        foreach (var snapshot in _snapshots)
        {
            ExpandZeroClustersInL1Locked(ReadSnapshotL1(snapshot, ""), active: false, ref visited, total, figures, cancellationToken);
        }
    }

    private void ExpandZeroClustersInL1Locked(ulong[] l1, bool active, ref long visited, long total, AmendFigures figures, CancellationToken cancellationToken)
    {
        var hasBacking = _header.BackingFile is not null;
        var buffer = active ? null : new byte[_clusterSize];
        foreach (var l1Entry in l1)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var l2Offset = (long)(l1Entry & Qcow2Constants.L1OffsetMask);
            if (l2Offset != 0)
            {
                ExpandZeroClustersInL2Locked(l2Offset, buffer, hasBacking);
            }

            visited++;
            figures.Report(AmendOperation.Downgrade, visited, total);
        }
    }

    /// <summary>One L2 table: through the cache when <paramref name="buffer"/> is null, else read into it and written back when changed.</summary>
    private void ExpandZeroClustersInL2Locked(long l2Offset, byte[]? buffer, bool hasBacking)
    {
        var l2Refcount = _refcounts!.Get(l2Offset >> _clusterBits);
        var table = buffer ?? _l2Cache.Get(l2Offset);
        if (buffer is not null)
        {
            _file.Read(l2Offset, buffer);
        }

        var changed = false;
        for (var index = 0; index < L2Entries; index++)
        {
            var entry = ReadEntry(table, index);
            if ((entry & Qcow2Constants.FlagCompressed) != 0 || (entry & Qcow2Constants.FlagZero) == 0)
            {
                continue;
            }

            var host = (long)(entry & Qcow2Constants.L2OffsetMask);
            if (host == 0 && !hasBacking)
            {
                BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(index * _l2EntryBytes), 0);
                changed = true;
                continue;
            }

            if (host == 0)
            {
                host = _refcounts.Allocate(1);
                if (l2Refcount > 1)
                {
                    _refcounts.Add(host >> _clusterBits, (long)l2Refcount - 1);
                }

                // Re-fetched: allocating may have evicted the table from the cache.
                table = buffer ?? _l2Cache.Get(l2Offset);
            }

            CheckNoMetadataOverlap(host, _clusterSize, "a data cluster");
            if (host + _clusterSize > _file.Length)
            {
                // A cluster past the end: growing the file makes it read as zeroes, a hole as QEMU's zero write leaves.
                _file.SetLength(host + _clusterSize);
            }
            else
            {
                _file.WriteZeroes(host, _clusterSize, mayUnmap: false);
            }

            var expanded = (ulong)host | (l2Refcount == 1 ? Qcow2Constants.FlagCopied : 0);
            BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(index * _l2EntryBytes), expanded);
            changed = true;
        }

        if (!changed)
        {
            return;
        }

        if (buffer is null)
        {
            _l2Cache.MarkDirty(l2Offset);
            return;
        }

        // The new clusters' refcounts reach the file before the table that references them.
        _refcounts.WriteDirty();
        _file.Flush();
        _file.Write(l2Offset, buffer);
    }

    /// <summary>The operations of an amendment that report progress, as QEMU counts them.</summary>
    private enum AmendOperation
    {
        None,
        Upgrade,
        RefcountOrder,
        Downgrade,
    }

    /// <summary>
    /// QEMU's amend figures: each operation reports its own offset and work size, and the operations not yet begun are
    /// projected to cost as much as the ones so far, so the figure is that share of the projected whole.
    /// </summary>
    private sealed class AmendFigures(IProgress<OperationProgress>? progress, int totalOperations)
    {
        private AmendOperation _last = AmendOperation.None;
        private long _offsetCompleted;
        private long _lastWorkSize;
        private int _operationsCompleted;

        public void Report(AmendOperation operation, long offset, long workSize)
        {
            if (progress is null || totalOperations <= 0)
            {
                return;
            }

            if (operation != _last)
            {
                if (_last != AmendOperation.None)
                {
                    _offsetCompleted += _lastWorkSize;
                    _operationsCompleted++;
                }

                _last = operation;
            }

            _lastWorkSize = workSize;
            var current = _offsetCompleted + workSize;
            var remaining = Math.Max(0, totalOperations - _operationsCompleted - 1);
            var projected = current * remaining / (_operationsCompleted + 1);
            progress.Report(new OperationProgress(_offsetCompleted + offset, current + projected));
        }
    }
}
