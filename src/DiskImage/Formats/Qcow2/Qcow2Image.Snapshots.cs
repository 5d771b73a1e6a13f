using System.Buffers.Binary;
using DiskImage.Operations;

namespace DiskImage.Formats.Qcow2;

/// <summary>Internal snapshots: create, apply (goto), delete and read-only snapshot views.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>The snapshot table as loaded (and kept current by the operations below).</summary>
    internal IReadOnlyList<Qcow2Snapshot> Snapshots => _snapshots;

    /// <summary>
    /// Opens a read-only view of an internal snapshot: its L1 table becomes the active one. The length
    /// stays the image's current size, as with qemu-img convert -l (QEMU's temporary snapshot load).
    /// </summary>
    internal static Qcow2Image OpenSnapshot(string path, Qcow2SnapshotSelector selector, ImageOpenOptions options)
    {
        var image = Open(path, options with { ReadOnly = true });
        try
        {
            image.LoadSnapshotView(selector);
            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    private void LoadSnapshotView(Qcow2SnapshotSelector selector)
    {
        lock (_lock)
        {
            var snapshot = FindSnapshot(selector) ?? throw new InvalidOptionException("Failed to load snapshot: Can't find snapshot");
            var l1 = ReadSnapshotL1(snapshot, "Failed to load snapshot: ");
            var needed = L1EntriesFor(_header.Size);
            if (needed > l1.Length)
            {
                Array.Resize(ref l1, (int)needed);
            }

            _l1 = l1;
            _header = _header with { L1Size = l1.Length };
        }
    }

    private Qcow2Snapshot? FindSnapshot(Qcow2SnapshotSelector selector)
    {
        var index = selector.FindIn(_snapshots);
        return index < 0 ? null : _snapshots[index];
    }

    /// <summary>L1 entries needed to map <paramref name="size"/> guest bytes.</summary>
    private long L1EntriesFor(long size)
    {
        var clusters = (size + _clusterSize - 1) >> _clusterBits;
        return (clusters + L2Entries - 1) >> _l2Bits;
    }

    /// <summary>
    /// Creates an internal snapshot of the active state. Order (crash-safe, as QEMU): write the snapshot's copy of
    /// the L1, raise and flush the refcounts of everything the active L1 references, clear COPIED
    /// flags, write the new snapshot table, point the header at it, free the old table.
    /// </summary>
    internal void CreateSnapshot(string name, DateTimeOffset date)
    {
        CheckWritable();
        CheckSnapshotsSupported();
        lock (_lock)
        {
            // QEMU's limit, checked before anything is written (EFBIG, as qemu-img reports it).
            if (_snapshots.Count >= Qcow2Constants.MaxSnapshots)
            {
                throw new FileTooLargeException("Too many internal snapshots");
            }

            FlushMetadataLocked();
            var references = CollectReferencesLocked(_l1);
            var l1Offset = 0L;
            if (_l1.Length > 0)
            {
                var bytes = _l1.Length * 8L;
                l1Offset = _refcounts!.Allocate((int)((bytes + _clusterSize - 1) >> _clusterBits));
                _refcounts.WriteDirty();
                _file.Flush();
                var raw = new byte[bytes];
                for (var i = 0; i < _l1.Length; i++)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), _l1[i] & ~Qcow2Constants.FlagCopied);
                }

                _file.Write(l1Offset, raw);
                _file.Flush();
            }

            // After the copy, as QEMU orders it: a refusal here (an overflowing refcount: EINVAL) leaves the copy's
            // clusters allocated and unreferenced, a leak that check reports and repairs as it does QEMU's.
            RaiseRefcountsLocked(references, $"Could not create snapshot '{name}'", overflowErrno: true);
            RebuildCopiedFlagsLocked();
            FlushMetadataLocked();
            var microseconds = date.ToUnixTimeMilliseconds() * 1000 + (date.Ticks / 10 % 1000);
            var snapshot = new Qcow2Snapshot
            {
                L1TableOffset = l1Offset,
                L1Size = _l1.Length,
                Id = NextSnapshotId(),
                Name = name,
                DateSeconds = (uint)(microseconds / 1_000_000),
                DateNanoseconds = (uint)(microseconds % 1_000_000 * 1000),
                VmStateSize = 0,
                DiskSize = _header.Size,
                Icount = 0,
            };
            WriteSnapshotTableLocked([.. _snapshots, snapshot]);
        }
    }

    /// <summary>
    /// Makes a snapshot's state the active one: its references are raised, its L1 copied over the active
    /// L1 (grown when needed), the old active state's references dropped, COPIED flags rebuilt from the
    /// refcounts and the virtual size set to the snapshot's. Cancellation is honoured while both tables are
    /// walked, before anything is written; once refcounts are raised the switch runs to its end.
    /// </summary>
    internal void ApplySnapshot(Qcow2SnapshotSelector selector, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckWritable();
        CheckSnapshotsSupported();
        lock (_lock)
        {
            // QEMU refuses to revert an image with any bitmap (their data would not match the reverted disk).
            if (_bitmaps.Count > 0 || _loadedBitmaps.Count > 0)
            {
                throw new UnsupportedFeatureException("Device has active dirty bitmaps");
            }

            FlushMetadataLocked();
            var snapshot = FindSnapshot(selector) ?? throw new InvalidOptionException("Failed to load snapshot: No such file or directory");
            if (snapshot.L1Problem(_clusterSize) is { } problem)
            {
                // QEMU names the problem, then the failed load by its errno.
                var failure = new InvalidImageException($"Failed to load snapshot: {ErrnoException.Text(problem.Errno)}");
                failure.AddEarlierError(problem.Message);
                throw failure;
            }

            var size = snapshot.DiskSize ?? _header.Size;
            var snapshotL1 = ReadSnapshotL1(snapshot, "Failed to load snapshot: ");

            // Progress counts the L1 entries of both tables walked, then one step for the switch. Cancellation is
            // honoured only while walking: nothing has been written yet.
            var total = snapshotL1.Length + _l1.Length + 1L;
            long walked = 0;
            void Walked()
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new OperationProgress(++walked, total));
            }

            progress?.Report(new OperationProgress(0, total));
            var incoming = CollectReferencesLocked(snapshotL1, Walked);
            CollectReferencesLocked(_l1, Walked);
            cancellationToken.ThrowIfCancellationRequested();
            if (size != _header.Size)
            {
                // QEMU first truncates the active state to the snapshot's size, as a resize does (shrinking discards
                // past the end, copying a shared L2 table it has to touch), then switches.
                if (size < _header.Size)
                {
                    ShrinkLocked(size);
                }
                else
                {
                    GrowLocked(_header.Size, size, Preallocation.Off);
                }
            }

            var outgoing = CollectReferencesLocked(_l1);
            RaiseRefcountsLocked(incoming, "Failed to load snapshot");
            _refcounts!.WriteDirty();
            _file.Flush();
            RewriteSnapshotL1FlagsLocked(snapshot, snapshotL1);

            var length = (int)Math.Max(Math.Max(_l1.Length, snapshotL1.Length), L1EntriesFor(size));
            var next = new ulong[length];
            for (var i = 0; i < snapshotL1.Length; i++)
            {
                next[i] = snapshotL1[i] & ~Qcow2Constants.FlagCopied;
            }

            ReplaceActiveL1Locked(next);
            _pendingFrees.AddRange(outgoing);
            if (size != _header.Size)
            {
                _header = _header with { Size = size };
                WriteHeaderLocked();
                _file.Flush();
            }

            FlushMetadataLocked();
            RebuildCopiedFlagsLocked();
            FlushMetadataLocked();
            progress?.Report(new OperationProgress(total, total));
        }
    }

    /// <summary>
    /// QEMU rebuilds the COPIED flags of the snapshot's own L1 copy when it raises its references, and writes the
    /// copy back when that changed it: every table it names is shared now, so no flag stays.
    /// </summary>
    private void RewriteSnapshotL1FlagsLocked(Qcow2Snapshot snapshot, ulong[] snapshotL1)
    {
        if (!Array.Exists(snapshotL1, e => (e & Qcow2Constants.FlagCopied) != 0))
        {
            return;
        }

        var raw = new byte[snapshotL1.Length * 8];
        for (var i = 0; i < snapshotL1.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), snapshotL1[i] & ~Qcow2Constants.FlagCopied);
        }

        _file.Write(snapshot.L1TableOffset, raw);
        _file.Flush();
    }

    /// <summary>
    /// Deletes a snapshot: the table without it is written first, then everything its L1 referenced (and
    /// the L1 itself) is released, and COPIED flags of the active state are rebuilt.
    /// </summary>
    internal Qcow2Snapshot DeleteSnapshot(Qcow2SnapshotSelector selector)
    {
        CheckWritable();
        CheckSnapshotsSupported();
        lock (_lock)
        {
            FlushMetadataLocked();
            var index = selector.FindIn(_snapshots);
            if (index < 0)
            {
                throw new InvalidOptionException("snapshot not found");
            }

            var snapshot = _snapshots[index];
            var snapshotL1 = ReadSnapshotL1(snapshot, "");
            var released = CollectReferencesLocked(snapshotL1);
            var remaining = _snapshots.Where((_, i) => i != index).ToList();
            WriteSnapshotTableLocked(remaining);
            try
            {
                _pendingFrees.AddRange(released);
                AddClusterRange(_pendingFrees, snapshot.L1TableOffset, snapshot.L1Size * 8L);
                FlushMetadataLocked();
            }
            catch (IOException e)
            {
                // The snapshot is gone from the table; what it referenced stays counted (leaked), as with QEMU.
                _pendingFrees.Clear();
                _freesKeepingBytes.Clear();
                throw new ErrnoException(ErrnoOf(e), $"Failed to free the cluster and L1 table: {IO.ErrnoText.Strerror(ErrnoOf(e))}");
            }

            RebuildCopiedFlagsLocked();
            FlushMetadataLocked();
            return snapshot;
        }
    }

    /// <summary>A snapshot's L1 table, after QEMU's checks of its offset and size (a damaged entry is refused here, not at open).</summary>
    private ulong[] ReadSnapshotL1(Qcow2Snapshot snapshot, string messagePrefix)
    {
        try
        {
            snapshot.ValidateL1(_clusterSize);
        }
        catch (InvalidImageException e)
        {
            throw new InvalidImageException(messagePrefix + e.Message, e);
        }

        return ReadL1(_file, snapshot.L1TableOffset, (int)snapshot.L1Size);
    }

    private void CheckSnapshotsSupported()
    {
        if (_header.HasDataFile)
        {
            throw new UnsupportedFeatureException("Internal snapshots cannot be used with an external data file");
        }
    }

    private string NextSnapshotId()
    {
        long highest = 0;
        foreach (var snapshot in _snapshots)
        {
            if (long.TryParse(snapshot.Id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            {
                highest = Math.Max(highest, id);
            }
        }

        return (highest + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Every host cluster an L1 table references through its L2 tables, once per reference: L2 tables,
    /// data clusters (preallocated zero clusters included) and each host cluster a compressed cluster touches.
    /// </summary>
    private List<long> CollectReferencesLocked(ulong[] l1, Action? entryWalked = null)
    {
        var clusters = new List<long>();
        var fileLength = _file.Length;
        for (var i = 0; i < l1.Length; i++)
        {
            entryWalked?.Invoke();
            var l2Offset = (long)(l1[i] & Qcow2Constants.L1OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            if ((l2Offset & (_clusterSize - 1)) != 0 || l2Offset >= fileLength)
            {
                throw new InvalidImageException($"L2 table offset 0x{l2Offset:x} invalid (L1 index: 0x{i:x})");
            }

            clusters.Add(l2Offset >> _clusterBits);
            var table = _l2Cache.Get(l2Offset);
            for (var index = 0; index < L2Entries; index++)
            {
                var entry = ReadEntry(table, index);
                if ((entry & Qcow2Constants.FlagCompressed) != 0)
                {
                    var (offset, length) = CompressedSpan(entry);
                    AddClusterRange(clusters, offset, length);
                    continue;
                }

                var host = (long)(entry & Qcow2Constants.L2OffsetMask);
                if (host == 0)
                {
                    continue;
                }

                if ((host & (_clusterSize - 1)) != 0)
                {
                    throw new InvalidImageException($"Cluster allocation offset 0x{host:x} unaligned (L2 offset: 0x{l2Offset:x}, L2 index: 0x{index:x})");
                }

                clusters.Add(host >> _clusterBits);
            }
        }

        return clusters;
    }

    private void AddClusterRange(List<long> clusters, long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        for (var cluster = offset >> _clusterBits; cluster <= (offset + length - 1) >> _clusterBits; cluster++)
        {
            clusters.Add(cluster);
        }
    }

    /// <summary>Adds one to each listed cluster's refcount after checking that none would overflow.</summary>
    private void RaiseRefcountsLocked(List<long> clusters, string what, bool overflowErrno = false)
    {
        var increments = new Dictionary<long, long>();
        foreach (var cluster in clusters)
        {
            increments[cluster] = increments.GetValueOrDefault(cluster) + 1;
        }

        var refcounts = _refcounts!;
        foreach (var (cluster, increment) in increments)
        {
            var current = refcounts.Get(cluster);
            if (current == 0 && !refcounts.HasBlockFor(cluster))
            {
                // No refcount block covers the cluster (an L2 entry pointing far past the file). QEMU would have to
                // allocate refcount structures in the middle of the update and gives up: EFBIG when the refcount
                // table could not grow that far, EAGAIN otherwise. Nothing has been changed here yet.
                var blockBits = _clusterBits + 3 - _header.RefcountOrder;
                throw (cluster >> blockBits) + 1 > Qcow2Constants.MaxRefcountTableBytes
                    ? new ErrnoException(ErrnoException.EFBIG, "File too large")
                    : new ErrnoException(ErrnoException.EAGAIN, "Resource temporarily unavailable");
            }

            if (current == 0)
            {
                throw new InvalidImageException($"{what}: cluster 0x{cluster << _clusterBits:x} is referenced but has refcount 0");
            }

            if ((ulong)increment > refcounts.Max - current)
            {
                if (overflowErrno)
                {
                    // qemu-img names a failed snapshot creation by its errno alone.
                    throw new ErrnoException(ErrnoException.EINVAL, "Invalid argument");
                }

                throw new UnsupportedFeatureException($"{what}: refcount overflow (refcount_bits={_header.RefcountBits} is too narrow for shared clusters)");
            }
        }

        foreach (var (cluster, increment) in increments)
        {
            refcounts.Add(cluster, increment);
        }
    }

    /// <summary>Sets COPIED in the active L1 and L2 tables exactly where the referenced cluster's refcount is 1.</summary>
    private void RebuildCopiedFlagsLocked()
    {
        var refcounts = _refcounts!;
        for (var i = 0; i < _l1.Length; i++)
        {
            var l2Offset = (long)(_l1[i] & Qcow2Constants.L1OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            var l1Entry = WithCopied(_l1[i], refcounts.Get(l2Offset >> _clusterBits) == 1);
            if (l1Entry != _l1[i])
            {
                _l1[i] = l1Entry;
                MarkL1Dirty(i);
            }

            var table = _l2Cache.Get(l2Offset);
            for (var index = 0; index < L2Entries; index++)
            {
                var entry = ReadEntry(table, index);
                var host = (long)(entry & Qcow2Constants.L2OffsetMask);
                if ((entry & Qcow2Constants.FlagCompressed) != 0 || host == 0)
                {
                    continue;
                }

                var updated = WithCopied(entry, refcounts.Get(host >> _clusterBits) == 1);
                if (updated != entry)
                {
                    table = _l2Cache.Get(l2Offset);
                    SetEntryLocked(table, l2Offset, index, updated, ReadBitmap(table, index));
                }
            }
        }
    }

    private static ulong WithCopied(ulong entry, bool copied) =>
        copied ? entry | Qcow2Constants.FlagCopied : entry & ~Qcow2Constants.FlagCopied;

    /// <summary>
    /// Replaces the active L1 table's content. A table that no longer fits moves: new clusters are
    /// allocated and written, the header is pointed at them, and only then is the old table freed.
    /// </summary>
    private void ReplaceActiveL1Locked(ulong[] next, bool grow = false)
    {
        if (next.Length * 8L > Qcow2Constants.MaxL1Bytes)
        {
            throw new InvalidOptionException("Active L1 table too large");
        }

        var raw = new byte[next.Length * 8L];
        for (var i = 0; i < next.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), next[i]);
        }

        var oldClusters = (_header.L1Size * 8L + _clusterSize - 1) >> _clusterBits;
        var newClusters = (raw.Length + _clusterSize - 1) >> _clusterBits;
        if (_header.L1TableOffset != 0 && next.Length == _header.L1Size)
        {
            // Same size: overwrite in place. A longer table always moves to fresh clusters, even when it would fit
            // in the old one's, as QEMU's L1 growth does (the file's layout then matches qemu-img's).
            _file.Write(_header.L1TableOffset, raw);
            _file.Flush();
            _l1 = next;
            ResetL1DirtyRange();
            return;
        }

        // A growing table raises QEMU's l1_grow events before each of its steps.
        RaiseIf(grow, IO.Blkdebug.BlkdebugEvent.L1GrowAllocTable);
        var offset = _refcounts!.Allocate((int)newClusters);
        _refcounts.WriteDirty();
        _file.Flush();
        RaiseIf(grow, IO.Blkdebug.BlkdebugEvent.L1GrowWriteTable);
        _file.Write(offset, raw);
        _file.Flush();
        var oldOffset = _header.L1TableOffset;
        var oldHeader = _header;
        _header = _header with { L1TableOffset = offset, L1Size = next.Length };
        try
        {
            RaiseIf(grow, IO.Blkdebug.BlkdebugEvent.L1GrowActivateTable);
            WriteHeaderLocked();
            _file.Flush();
        }
        catch
        {
            _header = oldHeader; // the old table stays active (the new one leaks)
            throw;
        }
        if (oldOffset != 0)
        {
            var start = _pendingFrees.Count;
            AddClusterRange(_pendingFrees, oldOffset, oldClusters << _clusterBits);
            _freesKeepingBytes.UnionWith(_pendingFrees.Skip(start));
        }

        _l1 = next;
        ResetL1DirtyRange();
    }

    private void RaiseIf(bool condition, IO.Blkdebug.BlkdebugEvent value)
    {
        if (condition)
        {
            IO.Blkdebug.BlkdebugStorage.Raise(_file, value);
        }
    }

    private void ResetL1DirtyRange()
    {
        _l1DirtyLow = int.MaxValue;
        _l1DirtyHigh = -1;
    }

    /// <summary>
    /// Writes <paramref name="snapshots"/> as a new table in fresh clusters, points the header at it and
    /// then frees the old table (QEMU's order, so a crash leaves either table intact).
    /// </summary>
    private void WriteSnapshotTableLocked(List<Qcow2Snapshot> snapshots)
    {
        var oldOffset = _header.SnapshotsOffset;
        var oldLength = _header.SnapshotCount > 0 ? SnapshotTableLength() : 0;
        var newOffset = 0L;
        if (snapshots.Count > 0)
        {
            var table = Qcow2SnapshotTableWriter.Serialize(snapshots, _header.Size);
            newOffset = _refcounts!.Allocate((int)((table.Length + _clusterSize - 1) >> _clusterBits));
            _refcounts.WriteDirty();
            _file.Flush();
            _file.Write(newOffset, table);
            _file.Flush();
        }

        _header = _header with { SnapshotCount = snapshots.Count, SnapshotsOffset = newOffset };
        _snapshotTableLength = null;
        WriteHeaderLocked();
        _file.Flush();
        _snapshots.Clear();
        _snapshots.AddRange(snapshots.Select(s => s with { DiskSize = s.DiskSize ?? _header.Size, ExtraDataSize = Qcow2SnapshotTableWriter.WrittenExtraDataSize(s) }));
        if (oldLength > 0)
        {
            // A damaged table (being repaired) may lie past the end of the file, where nothing is counted.
            var oldClusters = new List<long>();
            AddClusterRange(oldClusters, oldOffset, oldLength);
            // QEMU frees the old table at once, raising cluster_free first; a failure there leaves it leaked and is
            // only reported (on stderr), since the new table is in place.
            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.ClusterFree);
            try
            {
                _pendingFrees.AddRange(oldClusters.Where(c => _refcounts!.Get(c) > 0));
                FlushMetadataLocked();
            }
            catch (IOException e)
            {
                _pendingFrees.Clear();
                _freesKeepingBytes.Clear();
                _options.RepairReport?.Invoke($"qcow2_free_clusters failed: {IO.ErrnoText.Strerror(ErrnoOf(e))}");
            }

            return;
        }

        FlushMetadataLocked();
    }

    /// <summary>The errno an I/O failure carries in its HResult (EIO when it names none).</summary>
    private static int ErrnoOf(IOException e) => e.HResult is > 0 and < 4096 ? e.HResult : 5;
}
