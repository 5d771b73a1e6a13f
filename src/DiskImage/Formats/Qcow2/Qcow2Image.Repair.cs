using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Refuses to rebuild refcounts for images larger than this many clusters (memory bound).</summary>
    private const long MaxRebuildClusters = 1L << 28;

    /// <summary>
    /// Recomputes every refcount from the metadata that references clusters (header, L1/L2 tables of the
    /// active image and all snapshots, data clusters, the snapshot table, the refcount structures) and
    /// writes the result. Used when a dirty (lazy-refcount) image is opened for writing.
    /// </summary>
    private void RebuildRefcountsLocked()
    {
        if (_header.FindExtension(Qcow2Constants.ExtensionBitmaps) is not null)
        {
            throw new UnsupportedFeatureException("Could not repair dirty image: images with persistent bitmaps cannot be repaired yet");
        }

        var refcounts = _refcounts!;
        var counts = CountReferencesLocked();
        // Make sure every referenced cluster has a refcount block; new blocks go past everything in use.
        refcounts.RaiseAllocationFloor(counts.Length);
        for (long cluster = 0; cluster < counts.Length; cluster++)
        {
            if (counts[cluster] != 0 && !refcounts.HasBlockFor(cluster))
            {
                refcounts.EnsureBlockFor(cluster);
            }
        }

        // Blocks or a table created above are metadata too: count again, then store every value.
        counts = CountReferencesLocked();
        var covered = Math.Min(refcounts.CoveredClusters, Math.Max(counts.Length, (_file.Length + _clusterSize - 1) >> _clusterBits));
        for (long cluster = 0; cluster < covered; cluster++)
        {
            if (refcounts.HasBlockFor(cluster))
            {
                refcounts.SetExisting(cluster, cluster < counts.Length ? counts[cluster] : 0);
            }
        }

        refcounts.WriteDirty();
        _file.Flush();
    }

    private uint[] CountReferencesLocked()
    {
        var refcounts = _refcounts!;
        var fileClusters = (_file.Length + _clusterSize - 1) >> _clusterBits;
        var highest = fileClusters;
        foreach (var block in refcounts.BlockOffsets())
        {
            highest = Math.Max(highest, (block >> _clusterBits) + 1);
        }

        highest = Math.Max(highest, (refcounts.TableOffset >> _clusterBits) + refcounts.TableClusters);
        if (highest > MaxRebuildClusters)
        {
            throw new UnsupportedFeatureException("Could not repair dirty image: the image is too large to rebuild its refcounts in memory");
        }

        var counts = new uint[highest];
        void AddRange(long offset, long length)
        {
            if (length <= 0)
            {
                return;
            }

            for (var cluster = offset >> _clusterBits; cluster <= (offset + length - 1) >> _clusterBits; cluster++)
            {
                if (cluster >= counts.Length)
                {
                    throw new InvalidImageException($"Could not repair dirty image: a reference to host offset 0x{cluster << _clusterBits:x} lies past the end of the image");
                }

                counts[cluster]++;
            }
        }

        AddRange(0, _clusterSize);
        AddRange(refcounts.TableOffset, (long)refcounts.TableClusters << _clusterBits);
        foreach (var block in refcounts.BlockOffsets())
        {
            AddRange(block, _clusterSize);
        }

        CountL1(_l1, _header.L1TableOffset, AddRange, isActive: true);
        if (_header.SnapshotCount > 0)
        {
            var end = _header.SnapshotsOffset;
            foreach (var snapshot in _snapshots)
            {
                var l1 = ReadSnapshotL1(snapshot, "Could not repair dirty image: ");
                CountL1(l1, snapshot.L1TableOffset, AddRange, isActive: false);
            }

            AddRange(end, SnapshotTableLength());
        }

        return counts;
    }

    private void CountL1(ulong[] l1, long l1Offset, Action<long, long> addRange, bool isActive)
    {
        addRange(l1Offset, l1.Length * 8L);
        var table = new byte[_clusterSize];
        for (var i = 0; i < l1.Length; i++)
        {
            var l2Offset = (long)(l1[i] & Qcow2Constants.L1OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            addRange(l2Offset, _clusterSize);
            if (isActive)
            {
                _l2Cache.Get(l2Offset).CopyTo(table, 0);
            }
            else
            {
                _file.Read(l2Offset, table);
            }

            for (var index = 0; index < L2Entries; index++)
            {
                var entry = BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(index * _l2EntryBytes));
                if ((entry & Qcow2Constants.FlagCompressed) != 0)
                {
                    var (offset, length) = CompressedSpan(entry);
                    addRange(offset, length);
                }
                else
                {
                    var host = (long)(entry & Qcow2Constants.L2OffsetMask);
                    if (host != 0)
                    {
                        addRange(host, _clusterSize);
                    }
                }
            }
        }
    }

    private long SnapshotTableLength()
    {
        long length = 0;
        Span<byte> fixedPart = stackalloc byte[Qcow2Constants.SnapshotHeaderSize];
        var offset = _header.SnapshotsOffset;
        for (var i = 0; i < _header.SnapshotCount; i++)
        {
            offset = (offset + 7) & ~7L;
            _file.Read(offset, fixedPart);
            var entry = Qcow2Constants.SnapshotHeaderSize + BinaryPrimitives.ReadUInt32BigEndian(fixedPart[36..])
                + BinaryPrimitives.ReadUInt16BigEndian(fixedPart[12..]) + BinaryPrimitives.ReadUInt16BigEndian(fixedPart[14..]);
            offset += entry;
        }

        length = offset - _header.SnapshotsOffset;
        return length;
    }
}
