namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    private bool? _metadataPreallocated;

    /// <summary>
    /// Block status of this layer alone at <paramref name="offset"/>: the (sub)cluster type and host offset of
    /// a run of at most <paramref name="maxLength"/> bytes, as QEMU's qcow2 driver computes it for <c>map</c>.
    /// The run stays within one L2 table and keeps host offsets contiguous.
    /// </summary>
    internal Qcow2BlockStatus GetBlockStatus(long offset, long maxLength)
    {
        CheckRange(offset, Math.Min(maxLength, Length - offset));
        lock (_lock)
        {
            var clusterIndex = offset >> _clusterBits;
            var l1Index = clusterIndex >> _l2Bits;
            var l2Index = (int)(clusterIndex & (L2Entries - 1));
            var inCluster = (int)(offset & (_clusterSize - 1));
            var limit = Math.Min(maxLength, ((long)(L2Entries - l2Index) << _clusterBits) - inCluster);
            var l2Offset = l1Index >= _l1.Length ? 0 : BlockStatusL2OffsetOf(l1Index);
            if (l2Offset == 0)
            {
                return new Qcow2BlockStatus(Qcow2SubclusterType.UnallocatedPlain, limit, 0);
            }

            var table = _l2Cache.Get(l2Offset);
            var first = StatusOf(table, l2Offset, l2Index, inCluster);
            var length = first.Length;
            for (var index = l2Index + 1; length < limit && index < L2Entries && length == ((long)(index - l2Index) << _clusterBits) - inCluster; index++)
            {
                var next = StatusOf(table, l2Offset, index, 0);
                if (next.Type != first.Type || first.Type == Qcow2SubclusterType.Compressed
                    || (first.HasHostOffset && next.HostOffset != first.HostOffset + length))
                {
                    break;
                }

                length += next.Length;
            }

            return first with { Length = Math.Min(length, limit) };
        }
    }

    /// <summary>
    /// QEMU's metadata-preallocation heuristic: when at least ~10/9 as many clusters carry a refcount as the
    /// file really occupies on disk, data clusters may be holes in the file and block status asks the file.
    /// </summary>
    internal bool IsMetadataPreallocated
    {
        get
        {
            lock (_lock)
            {
                return _metadataPreallocated ??= DetectMetadataPreallocationLocked();
            }
        }
    }

    /// <summary>The host file under this image (for block status of the file itself).</summary>
    internal IO.IStorage Storage => _file;

    /// <summary>The file holding the data clusters: the external data file when there is one, else <see cref="Storage"/>.</summary>
    internal IO.IStorage DataStorage => _data;

    /// <summary>True when data clusters live in an external data file that is open.</summary>
    internal bool HasOpenDataFile => DataFileOpen;

    private bool DetectMetadataPreallocationLocked()
    {
        var refcounts = _refcounts ?? new Qcow2Refcounts(_file, _header, DefaultRefcountCacheBytes, (_, _) => { });
        var realClusters = (_file.AllocatedSize ?? _file.Length) / _clusterSize;
        var threshold = Math.Max(realClusters * 10 / 9, realClusters + 2);
        var endCluster = (_file.Length + _clusterSize - 1) >> _clusterBits;
        long counted = 0;
        for (long cluster = 0; cluster < endCluster && counted < threshold; cluster++)
        {
            if (refcounts.Get(cluster) != 0)
            {
                counted++;
            }
        }

        return counted >= threshold;
    }

    /// <summary>Status of one cluster from <paramref name="inCluster"/> to the end of its run of like subclusters.</summary>
    private Qcow2BlockStatus StatusOf(byte[] table, long l2Offset, int index, int inCluster)
    {
        var entry = ReadEntry(table, index);
        var rest = _clusterSize - inCluster;
        if ((entry & Qcow2Constants.FlagCompressed) != 0)
        {
            return new Qcow2BlockStatus(Qcow2SubclusterType.Compressed, rest, 0);
        }

        var host = (long)(entry & Qcow2Constants.L2OffsetMask);
        var mapped = host != 0 || IsDataFileClusterZero(entry);
        if (!_extendedL2)
        {
            var type = (entry & Qcow2Constants.FlagZero) != 0
                ? host != 0 ? Qcow2SubclusterType.ZeroAlloc : Qcow2SubclusterType.ZeroPlain
                : mapped ? Qcow2SubclusterType.Normal : Qcow2SubclusterType.UnallocatedPlain;
            CheckHostAlignment(host, l2Offset, index);
            return new Qcow2BlockStatus(type, rest, !mapped ? 0 : host + inCluster);
        }

        var bitmap = ReadBitmap(table, index);
        var allocated = (uint)bitmap;
        var zero = (uint)(bitmap >> 32);
        if ((host != 0 && (allocated & zero) != 0) || (!mapped && allocated != 0))
        {
            throw new InvalidImageException($"Invalid cluster entry found (L2 offset: 0x{l2Offset:x}, L2 index: 0x{index:x})", l2Offset + ((long)index * 16));
        }

        var sub = inCluster >> _subclusterBits;
        var state = SubclusterTypeOf(mapped, allocated, zero, sub);
        CheckHostAlignment(host, l2Offset, index);
        var end = sub + 1;
        while (end < Qcow2Constants.SubclustersPerCluster && SubclusterTypeOf(mapped, allocated, zero, end) == state)
        {
            end++;
        }

        return new Qcow2BlockStatus(state, ((long)end << _subclusterBits) - inCluster, !mapped ? 0 : host + inCluster);
    }

    /// <summary>An L1 entry's L2 table offset; an unaligned one is QEMU's corruption event, then EIO, as below.</summary>
    private long BlockStatusL2OffsetOf(long l1Index)
    {
        try
        {
            return L2OffsetOf(l1Index);
        }
        catch (Qcow2L2EntryException e)
        {
            SignalEntryCorruption(e.ReadEvent);
            throw new IOException("Input/output error", ErrnoException.EIO);
        }
    }

    private void CheckHostAlignment(long host, long l2Offset, int index)
    {
        if (host != 0 && (host & (_clusterSize - 1)) != 0)
        {
            // As QEMU's block status: the corruption event (marking a writable image corrupt), then EIO, which the
            // verbs word as their own failure (map: "Could not read file metadata", compare: "Sector allocation test failed").
            SignalEntryCorruption(Qcow2L2EntryException.Unaligned(host, l2Offset, index, l2Offset + ((long)index * _l2EntryBytes)).ReadEvent);
            throw new IOException("Input/output error", ErrnoException.EIO);
        }
    }

    private static Qcow2SubclusterType SubclusterTypeOf(bool hasHost, uint allocated, uint zero, int sub)
    {
        if (!hasHost)
        {
            return (zero & (1u << sub)) != 0 ? Qcow2SubclusterType.ZeroPlain : Qcow2SubclusterType.UnallocatedPlain;
        }

        return (zero & (1u << sub)) != 0 ? Qcow2SubclusterType.ZeroAlloc
            : (allocated & (1u << sub)) != 0 ? Qcow2SubclusterType.Normal
            : Qcow2SubclusterType.UnallocatedAlloc;
    }
}
