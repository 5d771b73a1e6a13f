using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    private int L2Entries => 1 << _l2Bits;

    private int SubclusterSize => 1 << _subclusterBits;

    /// <summary>
    /// Maps <paramref name="guestOffset"/> to a run of at most <paramref name="maxLength"/> bytes with one
    /// kind, merging neighbouring clusters of the same L2 table. Caller holds the lock.
    /// </summary>
    private Qcow2Run LookupLocked(long guestOffset, long maxLength)
    {
        var clusterIndex = guestOffset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & (L2Entries - 1));
        var inCluster = (int)(guestOffset & (_clusterSize - 1));
        var toTableEnd = ((long)(L2Entries - l2Index) << _clusterBits) - inCluster;
        var limit = Math.Min(maxLength, toTableEnd);
        if (l1Index >= _l1.Length)
        {
            return new Qcow2Run(Qcow2ClusterKind.Unallocated, 0, limit, 0, false);
        }

        var l2Offset = L2OffsetOf(l1Index);
        if (l2Offset == 0)
        {
            return new Qcow2Run(Qcow2ClusterKind.Unallocated, 0, limit, 0, false);
        }

        var table = _l2Cache.Get(l2Offset);
        var first = Classify(table, l2Offset, l2Index, inCluster);
        if (HasDataFile)
        {
            CheckDataFileMapping(first, l2Offset, l2Index, clusterIndex, inCluster);
        }

        var length = first.Length;
        if (first.Kind != Qcow2ClusterKind.Compressed && length == _clusterSize - inCluster)
        {
            for (var index = l2Index + 1; length < limit && index < L2Entries; index++)
            {
                var next = Classify(table, l2Offset, index, 0);
                if (next.Kind != first.Kind || next.Copied != first.Copied
                    || (first.Kind == Qcow2ClusterKind.Data && next.HostOffset != first.HostOffset + length))
                {
                    break;
                }

                length += next.Length;
                if (next.Length < _clusterSize)
                {
                    break;
                }
            }
        }

        return first with { Length = Math.Min(length, limit) };
    }

    /// <summary>
    /// With an external data file every guest cluster lives at its own offset there and nothing is compressed; an entry
    /// that says otherwise is corruption (QEMU's checks, in its words). The runs after the first are contiguous with it.
    /// </summary>
    private void CheckDataFileMapping(Qcow2Run run, long l2Offset, int l2Index, long clusterIndex, int inCluster)
    {
        if (run.Kind == Qcow2ClusterKind.Compressed)
        {
            throw new InvalidImageException(
                $"Compressed cluster entry found in image with external data file (L2 offset: 0x{l2Offset:x}, L2 index: 0x{l2Index:x})",
                l2Offset + ((long)l2Index * _l2EntryBytes));
        }

        var guest = clusterIndex << _clusterBits;
        if (run.Kind == Qcow2ClusterKind.Data && run.HostOffset - inCluster != guest)
        {
            throw new InvalidImageException(
                $"External data file host cluster offset 0x{run.HostOffset - inCluster:x} does not match guest cluster offset: 0x{guest:x}, L2 index: 0x{l2Index:x})",
                l2Offset + ((long)l2Index * _l2EntryBytes));
        }
    }

    /// <summary>The L2 table offset an L1 entry holds (0 when none), validated.</summary>
    private long L2OffsetOf(long l1Index)
    {
        var offset = (long)(_l1[l1Index] & Qcow2Constants.L1OffsetMask);
        if ((offset & (_clusterSize - 1)) != 0)
        {
            throw Qcow2L2EntryException.UnalignedTable(offset, l1Index, _header.L1TableOffset + (l1Index * 8));
        }

        return offset;
    }

    /// <summary>
    /// Offset 0 is a real place in an external data file (guest cluster 0): QEMU tells it from an unallocated entry by
    /// the COPIED flag, which every data file cluster carries.
    /// </summary>
    private bool IsDataFileClusterZero(ulong entry) =>
        HasDataFile && (entry & (Qcow2Constants.L2OffsetMask | Qcow2Constants.FlagCompressed)) == 0 && (entry & Qcow2Constants.FlagCopied) != 0
        && (_extendedL2 || (entry & Qcow2Constants.FlagZero) == 0);

    private ulong ReadEntry(byte[] table, int index) => BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(index * _l2EntryBytes));

    private ulong ReadBitmap(byte[] table, int index) => _extendedL2 ? BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan((index * 16) + 8)) : 0;

    /// <summary>Classifies one cluster from <paramref name="inCluster"/> to the end of its run of like subclusters.</summary>
    private Qcow2Run Classify(byte[] table, long l2Offset, int index, int inCluster)
    {
        var entry = ReadEntry(table, index);
        var copied = (entry & Qcow2Constants.FlagCopied) != 0;
        var rest = _clusterSize - inCluster;
        if ((entry & Qcow2Constants.FlagCompressed) != 0)
        {
            return new Qcow2Run(Qcow2ClusterKind.Compressed, 0, rest, entry, false);
        }

        var host = (long)(entry & Qcow2Constants.L2OffsetMask);
        if (host != 0 && (host & (_clusterSize - 1)) != 0)
        {
            throw Qcow2L2EntryException.Unaligned(host, l2Offset, index, l2Offset + ((long)index * _l2EntryBytes));
        }

        if (!_extendedL2)
        {
            if ((entry & Qcow2Constants.FlagZero) != 0)
            {
                return new Qcow2Run(Qcow2ClusterKind.Zero, host, rest, entry, copied);
            }

            return host != 0 || IsDataFileClusterZero(entry)
                ? new Qcow2Run(Qcow2ClusterKind.Data, host + inCluster, rest, entry, copied)
                : new Qcow2Run(Qcow2ClusterKind.Unallocated, 0, rest, entry, false);
        }

        var bitmap = ReadBitmap(table, index);
        var allocated = (uint)bitmap;
        var zero = (uint)(bitmap >> 32);
        if ((allocated & zero) != 0)
        {
            throw Qcow2L2EntryException.Invalid("subclusters both allocated and zero", l2Offset, index, l2Offset + ((long)index * 16));
        }

        if (host == 0 && allocated != 0 && !IsDataFileClusterZero(entry))
        {
            throw Qcow2L2EntryException.Invalid("allocated subclusters without a host cluster", l2Offset, index, l2Offset + ((long)index * 16));
        }

        var sub = inCluster >> _subclusterBits;
        var state = SubclusterState(allocated, zero, sub);
        var end = sub + 1;
        while (end < Qcow2Constants.SubclustersPerCluster && SubclusterState(allocated, zero, end) == state)
        {
            end++;
        }

        var length = ((long)end << _subclusterBits) - inCluster;
        return state switch
        {
            Qcow2ClusterKind.Data => new Qcow2Run(Qcow2ClusterKind.Data, host + inCluster, length, entry, copied),
            Qcow2ClusterKind.Zero => new Qcow2Run(Qcow2ClusterKind.Zero, 0, length, entry, false),
            _ => new Qcow2Run(Qcow2ClusterKind.Unallocated, 0, length, entry, false),
        };
    }

    private static Qcow2ClusterKind SubclusterState(uint allocated, uint zero, int sub) =>
        (zero & (1u << sub)) != 0 ? Qcow2ClusterKind.Zero
        : (allocated & (1u << sub)) != 0 ? Qcow2ClusterKind.Data
        : Qcow2ClusterKind.Unallocated;

    /// <summary>Host offset and byte length of a compressed cluster's data, as QEMU computes them.</summary>
    private (long Offset, int Length) CompressedSpan(ulong entry)
    {
        var shift = 62 - (_clusterBits - 8);
        var offset = (long)(entry & ((1UL << shift) - 1));
        var sectors = (int)((entry >> shift) & ((1UL << (_clusterBits - 8)) - 1)) + 1;
        return (offset, (sectors * 512) - (int)(offset & 511));
    }
}
