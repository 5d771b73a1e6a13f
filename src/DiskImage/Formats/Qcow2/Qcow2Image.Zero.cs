using System.Buffers;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckDriverPresent();
        CheckWritable();
        CheckRange(offset, length);
        CheckDataAccess();
        MarkBitmapsDirty(offset, length);
        if (HasDataFile && _header.DataFileRaw)
        {
            // The data file must read as the guest disk without the metadata, so it is zeroed first, as QEMU does.
            _data.WriteZeroes(offset, length, mayUnmap);
        }

        try
        {
            if (_extendedL2)
            {
                WriteZeroesExtended(offset, length, mayUnmap);
            }
            else
            {
                ZeroOrDiscard(offset, length, mayUnmap, discard: false);
            }
        }
        catch (Qcow2L2EntryException e)
        {
            SignalEntryCorruption(e.WriteEvent);
            throw;
        }

        ReleaseFreedClusters();
    }

    /// <summary>
    /// QEMU's discard: whole clusters only (a partial cluster keeps its data, except the partial last cluster
    /// of the image), and nothing at all on a version-2 overlay, where dropping a cluster would expose the
    /// backing file and no zero flag exists to hide it.
    /// </summary>
    public void Discard(long offset, long length)
    {
        CheckDriverPresent();
        CheckWritable();
        CheckRange(offset, length);
        CheckDataAccess();
        MarkBitmapsDirty(offset, length);
        if (_header.Version < 3 && HasBackingFile)
        {
            return;
        }

        var clusterMask = (long)_clusterSize - 1;
        var start = (offset + clusterMask) & ~clusterMask;
        var end = offset + length;
        var wholeEnd = end == Length ? end : end & ~clusterMask;
        if (wholeEnd > start)
        {
            try
            {
                ZeroOrDiscard(start, wholeEnd - start, mayUnmap: true, discard: true);
            }
            catch (Qcow2L2EntryException e)
            {
                // A bad L1 or L2 entry met on the way is QEMU's corruption event, as for writes.
                SignalEntryCorruption(e.WriteEvent);
                throw;
            }

            ReleaseFreedClusters();
        }
    }

    /// <summary>True when the header names a backing file, opened or not (a discard must then not deallocate).</summary>
    private bool HasBackingFile => _backing is not null || _header.BackingFile is not null;

    /// <summary>Applies the refcount drops of clusters a zero write or discard released, so the next allocation can reuse them (as QEMU does).</summary>
    private void ReleaseFreedClusters()
    {
        lock (_lock)
        {
            if (_pendingFrees.Count > 0)
            {
                FlushMetadataLocked();
            }
        }
    }

    private void ZeroOrDiscard(long offset, long length, bool mayUnmap, bool discard)
    {
        var end = offset + length;
        var position = offset;
        while (position < end)
        {
            var inCluster = (int)(position & (_clusterSize - 1));
            var take = (int)Math.Min(end - position, _clusterSize - inCluster);
            lock (_lock)
            {
                // The partial last cluster of an image counts as whole from its start (QEMU has no tail past the end).
                if ((inCluster == 0 && (take == _clusterSize || (position + take == Length && _header.Version >= 3))) || (discard && inCluster == 0))
                {
                    ZeroWholeClusterLocked(position, mayUnmap, discard);
                }
                else if (_extendedL2 && CoversWholeSubclusters(inCluster, take, out var firstSub, out var lastSub))
                {
                    ZeroSubclustersLocked(position - inCluster, firstSub, lastSub, mayUnmap);
                    var headEnd = firstSub << _subclusterBits;
                    var tailStart = (lastSub + 1) << _subclusterBits;
                    ZeroPartialUnitLocked(position, headEnd - inCluster, mayUnmap);
                    ZeroPartialUnitLocked(position - inCluster + tailStart, inCluster + take - tailStart, mayUnmap);
                }
                else if (_extendedL2)
                {
                    // Within one subcluster, or across the boundary of two without covering either.
                    var boundary = Math.Min((position & ~((long)SubclusterSize - 1)) + SubclusterSize, position + take);
                    ZeroPartialUnitLocked(position, (int)(boundary - position), mayUnmap);
                    ZeroPartialUnitLocked(boundary, (int)(position + take - boundary), mayUnmap);
                }
                else
                {
                    ZeroPartialUnitLocked(position, take, mayUnmap);
                }
            }

            position += take;
        }
    }

    /// <summary>
    /// Zeroes part of one cluster (or subcluster). As in QEMU, when the rest of that unit already reads as
    /// zeroes and the unit holds no data of its own, the whole unit becomes a zero cluster (subcluster)
    /// instead of an allocated one full of zero bytes. Needs version 3 (version 2 has no zero flag).
    /// </summary>
    private void ZeroPartialUnitLocked(long guestOffset, int length, bool mayUnmap)
    {
        if (length <= 0)
        {
            return;
        }

        var unit = _extendedL2 ? SubclusterSize : _clusterSize;
        var unitStart = guestOffset & ~((long)unit - 1);
        // What lies past the end of the image is nothing to keep: only the rest up to the end must read as zeroes.
        var unitEnd = Math.Min(unitStart + unit, Length);
        var kind = LookupLocked(unitStart, 1).Kind;
        if (_header.Version >= 3 && kind is Qcow2ClusterKind.Unallocated or Qcow2ClusterKind.Zero
            && RangeReadsAsZeroLocked(unitStart, guestOffset - unitStart) && RangeReadsAsZeroLocked(guestOffset + length, unitEnd - guestOffset - length))
        {
            if (_extendedL2)
            {
                var sub = (int)((unitStart & (_clusterSize - 1)) >> _subclusterBits);
                ZeroSubclustersLocked(unitStart & ~((long)_clusterSize - 1), sub, sub, mayUnmap);
            }
            else
            {
                ZeroWholeClusterLocked(unitStart, mayUnmap, discard: false);
            }

            return;
        }

        WriteZeroBytesLocked(guestOffset, length);
    }

    /// <summary>True when the range reads as zeroes by block status through the backing chain (nothing is read).</summary>
    private bool RangeReadsAsZeroLocked(long offset, long length)
    {
        if (length <= 0)
        {
            return true;
        }

        foreach (var extent in ChainBlockStatus.GetExtents(this, offset, length))
        {
            if (!extent.ReadsAsZero)
            {
                return false;
            }
        }

        return true;
    }

    private bool CoversWholeSubclusters(int inCluster, int take, out int firstSub, out int lastSub)
    {
        var size = SubclusterSize;
        firstSub = (inCluster + size - 1) >> _subclusterBits;
        lastSub = ((inCluster + take) >> _subclusterBits) - 1;
        return lastSub >= firstSub;
    }

    /// <summary>Writes literal zeroes unless the range already reads as zeroes in this layer with nothing beneath.</summary>
    private void WriteZeroBytesLocked(long guestOffset, int length)
    {
        if (length <= 0)
        {
            return;
        }

        var run = LookupLocked(guestOffset, length);
        if (run.Length >= length && (run.Kind == Qcow2ClusterKind.Zero || (run.Kind == Qcow2ClusterKind.Unallocated && _backing is null)))
        {
            return;
        }

        var zeroes = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Array.Clear(zeroes, 0, length);
            var done = 0;
            var cursor = new HostRunCursor(guestOffset, guestOffset + length);
            try
            {
                while (done < length)
                {
                    done += WriteAllocatingOrInPlaceLocked(guestOffset + done, zeroes.AsSpan(done, length - done), cursor);
                }
            }
            finally
            {
                ReleaseReservedLocked(cursor);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeroes);
        }
    }

    private int WriteAllocatingOrInPlaceLocked(long guestOffset, ReadOnlySpan<byte> data, HostRunCursor cursor)
    {
        var run = LookupLocked(guestOffset, data.Length);
        if (run.Kind == Qcow2ClusterKind.Data && run.Copied)
        {
            WriteHostData(guestOffset, run.HostOffset, data[..(int)run.Length]);
            NoteHostEndLocked(cursor, run.HostOffset + run.Length);
            return (int)run.Length;
        }

        return WriteAllocatingLocked(guestOffset, data, cursor);
    }

    private void ZeroWholeClusterLocked(long guestOffset, bool mayUnmap, bool discard)
    {
        var clusterIndex = guestOffset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & (L2Entries - 1));
        var hasTable = l1Index < _l1.Length && L2OffsetOf(l1Index) != 0;
        if (!hasTable && !HasBackingFile && (discard || _header.Version < 3))
        {
            // Unallocated with nothing beneath already reads as zeroes. A version-3 zero write still records a
            // zero cluster, as QEMU does: a backing file set later (rebase) must not show through.
            return;
        }

        if (_header.Version < 3 && HasBackingFile)
        {
            WriteZeroBytesLocked(guestOffset, _clusterSize);
            return;
        }

        var l2Offset = L2TableForWriteLocked(l1Index);
        var table = _l2Cache.Get(l2Offset);
        var entry = ReadEntry(table, l2Index);
        var host = (long)(entry & Qcow2Constants.L2OffsetMask);
        var compressed = (entry & Qcow2Constants.FlagCompressed) != 0;
        var allocated = compressed || host != 0 || IsDataFileClusterZero(entry);
        if (discard && _backing is null && !allocated)
        {
            // Nothing beneath and nothing here: QEMU's discard leaves the entry (zero flags included) as it is.
            return;
        }

        // Version 2 without a backing file has no zero flag: QEMU zeroes by deallocating, whatever mayUnmap says.
        var keepAllocation = !discard && !mayUnmap && !compressed && (host != 0 || IsDataFileClusterZero(entry)) && (entry & Qcow2Constants.FlagCopied) != 0
            && _header.Version >= 3;
        ulong newEntry;
        ulong newBitmap = 0;
        if (_extendedL2)
        {
            if (keepAllocation)
            {
                newEntry = entry;
                newBitmap = (ulong)uint.MaxValue << 32;
            }
            else
            {
                newEntry = 0;
                newBitmap = (_backing is not null || allocated || !discard) ? (ulong)uint.MaxValue << 32 : 0;
            }
        }
        else if (_header.Version < 3)
        {
            newEntry = 0; // no zero flag in version 2: unallocated without a backing file reads as zeroes
        }
        else if (keepAllocation)
        {
            newEntry = entry | Qcow2Constants.FlagZero;
        }
        else
        {
            newEntry = (discard && _backing is null && !allocated) ? 0 : Qcow2Constants.FlagZero;
        }

        if (newEntry == entry && newBitmap == ReadBitmap(table, l2Index))
        {
            return;
        }

        if (newEntry != 0 || newBitmap != 0 || allocated || entry != 0)
        {
            MarkDirtyForLazyRefcountsLocked();
        }

        SetEntryLocked(table, l2Offset, l2Index, newEntry, newBitmap);
        if (!keepAllocation)
        {
            FreeEntryLocked(entry);
        }
    }

    /// <summary>Marks whole subclusters zero (extended L2), copying the cluster first when it is compressed or shared.</summary>
    private void ZeroSubclustersLocked(long clusterStart, int firstSub, int lastSub, bool mayUnmap)
    {
        var clusterIndex = clusterStart >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & (L2Entries - 1));
        var l2Offset = L2TableForWriteLocked(l1Index);
        var table = _l2Cache.Get(l2Offset);
        var entry = ReadEntry(table, l2Index);
        var host = (long)(entry & Qcow2Constants.L2OffsetMask);
        var compressed = (entry & Qcow2Constants.FlagCompressed) != 0;
        var start = (long)firstSub << _subclusterBits;
        var length = (lastSub - firstSub + 1) << _subclusterBits;
        if (compressed || (host != 0 && (entry & Qcow2Constants.FlagCopied) == 0))
        {
            WriteZeroBytesLocked(clusterStart + start, length);
            return;
        }

        MarkDirtyForLazyRefcountsLocked();
        table = _l2Cache.Get(l2Offset);
        var bitmap = ReadBitmap(table, l2Index);
        var mask = (uint)(((1UL << (lastSub + 1)) - 1) & ~((1UL << firstSub) - 1));
        var allocatedBits = (uint)bitmap & ~mask;
        var zeroBits = (uint)(bitmap >> 32) | mask;
        if (host != 0 && allocatedBits == 0 && zeroBits == uint.MaxValue && mayUnmap)
        {
            SetEntryLocked(table, l2Offset, l2Index, 0, (ulong)zeroBits << 32);
            FreeEntryLocked(entry);
            return;
        }

        SetEntryLocked(table, l2Offset, l2Index, entry, ((ulong)zeroBits << 32) | allocatedBits);
    }
}
