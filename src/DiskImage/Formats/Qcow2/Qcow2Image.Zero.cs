using System.Buffers;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        CheckDataAccess();
        ZeroOrDiscard(offset, length, mayUnmap, discard: false);
    }

    public void Discard(long offset, long length)
    {
        CheckWritable();
        CheckRange(offset, length);
        CheckDataAccess();
        ZeroOrDiscard(offset, length, mayUnmap: true, discard: true);
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
                if (inCluster == 0 && take == _clusterSize)
                {
                    ZeroWholeClusterLocked(position, mayUnmap, discard);
                }
                else if (_extendedL2 && CoversWholeSubclusters(inCluster, take, out var firstSub, out var lastSub))
                {
                    ZeroSubclustersLocked(position - inCluster, firstSub, lastSub, mayUnmap);
                    var headEnd = firstSub << _subclusterBits;
                    var tailStart = (lastSub + 1) << _subclusterBits;
                    WriteZeroBytesLocked(position, headEnd - inCluster);
                    WriteZeroBytesLocked(position - inCluster + tailStart, inCluster + take - tailStart);
                }
                else
                {
                    WriteZeroBytesLocked(position, take);
                }
            }

            position += take;
        }
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
            while (done < length)
            {
                done += WriteAllocatingOrInPlaceLocked(guestOffset + done, zeroes.AsSpan(done, length - done));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeroes);
        }
    }

    private int WriteAllocatingOrInPlaceLocked(long guestOffset, ReadOnlySpan<byte> data)
    {
        var run = LookupLocked(guestOffset, data.Length);
        if (run.Kind == Qcow2ClusterKind.Data && run.Copied)
        {
            WriteHostData(run.HostOffset, data[..(int)run.Length]);
            return (int)run.Length;
        }

        return WriteAllocatingLocked(guestOffset, data);
    }

    private void ZeroWholeClusterLocked(long guestOffset, bool mayUnmap, bool discard)
    {
        var clusterIndex = guestOffset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & (L2Entries - 1));
        var hasTable = l1Index < _l1.Length && L2OffsetOf(l1Index) != 0;
        if (!hasTable && _backing is null)
        {
            return; // unallocated with nothing beneath already reads as zeroes
        }

        if (_header.Version < 3 && _backing is not null && !discard)
        {
            WriteZeroBytesLocked(guestOffset, _clusterSize);
            return;
        }

        var l2Offset = L2TableForWriteLocked(l1Index);
        var table = _l2Cache.Get(l2Offset);
        var entry = ReadEntry(table, l2Index);
        var host = (long)(entry & Qcow2Constants.L2OffsetMask);
        var compressed = (entry & Qcow2Constants.FlagCompressed) != 0;
        var allocated = compressed || host != 0;
        var keepAllocation = !discard && !mayUnmap && !compressed && host != 0 && (entry & Qcow2Constants.FlagCopied) != 0;
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
            if (keepAllocation)
            {
                if (Cipher is null)
                {
                    _file.WriteZeroes(host, _clusterSize, mayUnmap: false);
                }
                else
                {
                    WriteZeroBytesLocked(guestOffset, _clusterSize); // zeroes must be stored encrypted
                }

                return;
            }

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
