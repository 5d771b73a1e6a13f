namespace DiskImage.Formats.Qcow2;

/// <summary>Changing the virtual size (qemu-img resize, snapshot apply, amend size=).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Grows or shrinks the virtual size. Growing enlarges the L1 table crash-safely when needed and
    /// preallocates the new clusters as asked; shrinking releases every cluster past the new end and
    /// truncates the file after the last cluster still in use.
    /// </summary>
    internal void Resize(long newSize, Preallocation preallocation)
    {
        CheckWritable();
        if (newSize < 0)
        {
            throw new InvalidOptionException("New image size must be positive");
        }

        lock (_lock)
        {
            var oldSize = _header.Size;
            if (_snapshots.Count > 0 && _header.Version < 3 && newSize != oldSize)
            {
                throw new UnsupportedFeatureException("Can't resize a v2 image which has snapshots");
            }

            if (newSize < oldSize && preallocation != Preallocation.Off)
            {
                throw new InvalidOptionException("Preallocation can only be used for growing images");
            }

            if (newSize != oldSize)
            {
                ResizeBitmapsLocked(newSize);
            }

            FlushMetadataLocked();
            if (newSize > oldSize)
            {
                GrowLocked(oldSize, newSize, preallocation);
            }
            else if (newSize < oldSize)
            {
                ShrinkLocked(newSize);
            }
        }
    }

    private void GrowLocked(long oldSize, long newSize, Preallocation preallocation)
    {
        var needed = L1EntriesFor(newSize);
        if (needed * 8 > Qcow2Constants.MaxL1Bytes)
        {
            // QEMU's L1 growth refuses a table past its limit with EFBIG.
            throw new InvalidOptionException("Failed to grow the L1 table: File too large");
        }

        if (needed > _l1.Length)
        {
            var next = new ulong[needed];
            Array.Copy(_l1, next, _l1.Length);
            ReplaceActiveL1Locked(next, grow: true);
            FlushMetadataLocked();
        }

        if (preallocation is Preallocation.Falloc or Preallocation.Full && !HasDataFile && Cipher is null)
        {
            GrowPreallocatedLocked(oldSize, newSize, preallocation);
            return;
        }

        ZeroGrownRangeLocked(oldSize, newSize);
        _header = _header with { Size = newSize };
        WriteHeaderLocked();
        _file.Flush();
        if (HasDataFile && _header.DataFileRaw && preallocation == Preallocation.Off)
        {
            // The data file must stay a raw image of the guest disk: the grown range is mapped too, as QEMU does.
            preallocation = Preallocation.Metadata;
        }

        if (preallocation == Preallocation.Off && DataFileOpen)
        {
            _data.SetLength(newSize);
        }

        if (preallocation != Preallocation.Off)
        {
            // From the cluster holding the old end, as QEMU: a partial last cluster left unallocated is preallocated
            // too. The zeroing above has already given it data of its own wherever a backing file shows through it.
            var first = oldSize >> _clusterBits;
            var end = (newSize + _clusterSize - 1) >> _clusterBits;
            PreallocateRangeLocked(first, end, preallocation);
        }
    }

    /// <summary>
    /// Growth with <c>falloc</c> or <c>full</c> preallocation, laid out as QEMU lays it out: new refcount structures
    /// (any missing blocks, then a table sized for the grown file) go right after the last cluster in use, the data
    /// clusters from the one holding the old end on follow them as one run, and the file grows over that run with the
    /// preallocation asked for. The old end's cluster is copied into its new place up to the old end (the rest of the
    /// run reads as the zeroes the file grew by), the L2 entries are linked, the metadata flushed, and only then does
    /// the header carry the new size.
    /// </summary>
    private void GrowPreallocatedLocked(long oldSize, long newSize, Preallocation preallocation)
    {
        var refcounts = _refcounts!;
        // The grown range hides a longer backing file because the data clusters are written as allocated zeroes
        // (QEMU grows the file with zeroes guaranteed and then marks every subcluster allocated).
        var hidesBacking = _backing is not null && _backing.Length > oldSize;
        var fileLength = _file.Length;
        var last = refcounts.LastUsedCluster(fileLength);
        var oldFileClusters = last >= 0 ? last + 1 : (fileLength + _clusterSize - 1) >> _clusterBits;
        var first = oldSize >> _clusterBits;
        var end = (newSize + _clusterSize - 1) >> _clusterBits;
        var count = end - first;
        // Room for the L2 tables the run may need (one more for an unaligned head or tail), so that linking it never
        // needs another refcount block.
        var l2Tables = ((count + L2Entries - 1) / L2Entries) + 1;
        var start = refcounts.CreateArea(oldFileClusters, count + l2Tables);
        if (refcounts.AllocateAt(start, count) != count)
        {
            throw new InvalidImageException("Failed to allocate data clusters");
        }

        var dataEnd = (start + count) << _clusterBits;
        var current = _file.Length;
        if (dataEnd > current)
        {
            if (preallocation == Preallocation.Full)
            {
                // Sized first, as QEMU's file driver does: a length the file system cannot hold fails before any write.
                _file.SetLength(dataEnd);
                _file.WriteZeroBytes(current, dataEnd - current);
            }
            else if (!_file.TryAllocate(current, dataEnd - current))
            {
                _file.SetLength(dataEnd);
            }
        }

        MarkDirtyForLazyRefcountsLocked();
        var host = start << _clusterBits;
        var cluster = first;
        while (cluster < end)
        {
            var l1Index = cluster >> _l2Bits;
            var head = cluster == first ? (int)(oldSize & (_clusterSize - 1)) : 0;
            if (head > 0)
            {
                // The old end's cluster keeps what the guest reads below the old end (QEMU's copy on write).
                var copy = new byte[head];
                ReadCore(cluster << _clusterBits, copy);
                _file.Write(host, copy);
            }

            var l2Offset = L2TableForWriteLocked(l1Index);
            var tableEnd = Math.Min(end, (l1Index + 1) << _l2Bits);
            for (; cluster < tableEnd; cluster++, host += _clusterSize)
            {
                var index = (int)(cluster & (L2Entries - 1));
                var table = _l2Cache.Get(l2Offset);
                var old = ReadEntry(table, index);
                var bitmap = !_extendedL2 ? 0 : hidesBacking ? Qcow2Constants.SubclusterAllocMask : ReadBitmap(table, index);
                SetEntryLocked(table, l2Offset, index, (ulong)host | Qcow2Constants.FlagCopied, bitmap);
                // The cluster the old end had is only counted down (QEMU does not discard what a relinked entry held),
                // so its old bytes stay in the file.
                var freesBefore = _pendingFrees.Count;
                FreeEntryLocked(old);
                _freesKeepingBytes.UnionWith(_pendingFrees.Skip(freesBefore));
            }
        }

        FlushMetadataLocked();
        _header = _header with { Size = newSize };
        WriteHeaderLocked();
        _file.Flush();
    }

    /// <summary>
    /// Makes the grown range read as zeroes before the header exposes it: the tail of a cluster cut by
    /// an earlier shrink still holds its old bytes, and a longer backing file would show through
    /// (QEMU zeroes the latter too). Zero clusters where the version allows, so nothing is allocated
    /// past the backing file's end. A tail that has no bytes of its own already reads as zeroes and is
    /// left alone, as QEMU leaves it (no zero flag appears in the L2 table).
    /// </summary>
    private void ZeroGrownRangeLocked(long oldSize, long newSize)
    {
        var tailEnd = (oldSize + _clusterSize - 1) & ~((long)_clusterSize - 1);
        var backingEnd = _backing?.Length ?? 0;
        if (backingEnd <= oldSize && !HoldsHostBytesLocked(oldSize, tailEnd))
        {
            return;
        }

        var end = Math.Min(newSize, Math.Max(tailEnd, backingEnd));
        if (end > oldSize)
        {
            ZeroOrDiscard(oldSize, end - oldSize, mayUnmap: true, discard: false);
            FlushMetadataLocked();
        }
    }

    /// <summary>Whether any guest byte in [start, end) is stored in a host cluster (plain or compressed).</summary>
    private bool HoldsHostBytesLocked(long start, long end)
    {
        for (var position = start; position < end;)
        {
            var run = LookupLocked(position, end - position);
            if (run.Kind is Qcow2ClusterKind.Data or Qcow2ClusterKind.Compressed)
            {
                return true;
            }

            position += Math.Max(run.Length, 1);
        }

        return false;
    }

    /// <summary>Gives every unallocated cluster in [first, end) its own zeroed host cluster.</summary>
    private void PreallocateRangeLocked(long first, long end, Preallocation preallocation)
    {
        long dataEnd = 0;
        var cluster = first;
        while (cluster < end)
        {
            var l2Offset = L2TableForWriteLocked(cluster >> _l2Bits);
            var tableEnd = Math.Min(end, ((cluster >> _l2Bits) + 1) << _l2Bits);
            var table = _l2Cache.Get(l2Offset);
            for (; cluster < tableEnd; cluster++)
            {
                var index = (int)(cluster & (L2Entries - 1));
                // A zero cluster the grown range just got is preallocated too and keeps reading as zeroes (QEMU
                // preallocates first and then zeroes the allocated cluster).
                var old = ReadEntry(table, index);
                var zeroFlag = !_extendedL2 && Cipher is null && old == Qcow2Constants.FlagZero;
                if (old != 0 && !zeroFlag)
                {
                    continue;
                }

                var host = AllocateDataClustersLocked(cluster, 1);
                // A reused free cluster may hold old bytes; the guest must read zeroes. A data file is sized as a whole below.
                if (!HasDataFile)
                {
                    ZeroPreallocatedHostClusterLocked(host, preallocation);
                }

                // Subclusters stay unallocated, keeping the zero marks the grown range got (QEMU's preallocation).
                var bitmap = _extendedL2 ? ReadBitmap(_l2Cache.Get(l2Offset), index) & ~(ulong)Qcow2Constants.SubclusterAllocMask : 0;
                if (Cipher is not null)
                {
                    LinkZeroPreallocatedLocked(cluster << _clusterBits, l2Offset, index, host, bitmap);
                }
                else
                {
                    table = _l2Cache.Get(l2Offset);
                    SetEntryLocked(table, l2Offset, index, (ulong)host | Qcow2Constants.FlagCopied | (zeroFlag ? Qcow2Constants.FlagZero : 0), bitmap);
                }

                table = _l2Cache.Get(l2Offset);
                dataEnd = Math.Max(dataEnd, host + _clusterSize);
            }
        }

        FlushMetadataLocked();
        ExtendDataLocked(dataEnd, preallocation);
    }

    private void ZeroPreallocatedHostClusterLocked(long host, Preallocation preallocation)
    {
        if (preallocation == Preallocation.Full)
        {
            _file.WriteZeroBytes(host, _clusterSize);
            return;
        }

        _file.WriteZeroes(host, _clusterSize, mayUnmap: preallocation == Preallocation.Metadata);
        if (preallocation == Preallocation.Falloc)
        {
            _file.TryAllocate(host, _clusterSize);
        }
    }

    private void ShrinkLocked(long newSize)
    {
        UnmapFromLocked((newSize + _clusterSize - 1) >> _clusterBits);
        _header = _header with { Size = newSize };
        FlushMetadataLocked();
        DropUnusedRefcountBlocksLocked();
        WriteHeaderLocked();
        _file.Flush();
        TruncateAfterLastUsedClusterLocked();
        if (DataFileOpen)
        {
            _data.SetLength(newSize);
        }
    }

    /// <summary>Makes every guest cluster from <paramref name="firstGone"/> on unallocated and releases what it held.</summary>
    private void UnmapFromLocked(long firstGone)
    {
        var firstWholeTable = (firstGone + L2Entries - 1) >> _l2Bits;
        // QEMU's discard of the cut range asks each L2 table of the old size for writing, so one not there yet is
        // allocated (empty) first; past the old size it has nothing to ask.
        var lastAsked = _header.Size == 0 ? -1 : ((_header.Size - 1) >> _clusterBits) >> _l2Bits;
        for (long l1Index = firstGone >> _l2Bits; l1Index < _l1.Length; l1Index++)
        {
            if (L2OffsetOf(l1Index) == 0 && l1Index > lastAsked)
            {
                continue;
            }

            // A table shared with a snapshot is copied first, so the snapshot keeps its clusters.
            var l2Offset = L2TableForWriteLocked(l1Index);
            var start = l1Index == firstGone >> _l2Bits ? (int)(firstGone & (L2Entries - 1)) : 0;
            for (var index = start; index < L2Entries; index++)
            {
                var table = _l2Cache.Get(l2Offset);
                var entry = ReadEntry(table, index);
                if (entry == 0 && ReadBitmap(table, index) == 0)
                {
                    continue;
                }

                SetEntryLocked(table, l2Offset, index, 0, 0);
                FreeEntryLocked(entry);
            }

            if (l1Index >= firstWholeTable)
            {
                _l1[l1Index] = 0;
                MarkL1Dirty((int)l1Index);
                _pendingFrees.Add(l2Offset >> _clusterBits);
            }
        }
    }

    /// <summary>
    /// As QEMU's shrink: refcount blocks left counting no cluster leave the table (the frees that emptied them are
    /// already on disk), their clusters are freed and discarded, and the refcount changes are written.
    /// </summary>
    private void DropUnusedRefcountBlocksLocked()
    {
        var dropped = _refcounts!.DropUnusedBlocks();
        if (dropped.Count == 0)
        {
            return;
        }

        foreach (var cluster in dropped)
        {
            DiscardClustersLocked(cluster, cluster + 1);
        }

        _refcounts.WriteDirty();
        _file.Flush();
    }

    private void TruncateAfterLastUsedClusterLocked()
    {
        var refcounts = _refcounts!;
        var last = ((_file.Length + _clusterSize - 1) >> _clusterBits) - 1;
        while (last > 0 && refcounts.Get(last) == 0)
        {
            last--;
        }

        var end = (last + 1) << _clusterBits;
        if (end < _file.Length)
        {
            try
            {
                _file.SetLength(end);
            }
            catch (UnsupportedFeatureException e)
            {
                // As QEMU's shrink: the image is already whole without the cut (a file that cannot shrink, such as one
                // over SSH), so the unused tail stays and only a warning says so.
                ImageWarnings.Report($"warning: Failed to truncate the tail of the image: {e.Message}");
            }
        }
    }
}
