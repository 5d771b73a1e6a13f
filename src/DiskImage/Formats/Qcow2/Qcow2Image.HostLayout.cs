using System.Buffers.Binary;
using DiskImage.Formats.Qcow2.Bitmaps;
using DiskImage.Operations.Map;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// What each cluster of the host file holds, for the allocation map's host strip: a cluster is metadata when
/// one of the structures QEMU's check counts points at it (header, L1/L2 tables of the image and its
/// snapshots, snapshot table, refcount table and blocks, LUKS header, bitmap directory, tables and data);
/// otherwise data when its refcount is above zero; otherwise free. Offsets come from the file and are
/// clipped to it; nothing here changes the image.
/// </summary>
public sealed partial class Qcow2Image : IHostFileLayout
{
    /// <summary>A scan reads each refcount block once, so a small cache does.</summary>
    private const long LayoutRefcountCacheBytes = 256 << 10;

    long IHostFileLayout.HostLayoutLength => HostClusters() << _clusterBits;

    void IHostFileLayout.DescribeHostFile(Action<long, long, HostFileCategory> report)
    {
        lock (_lock)
        {
            var clusters = HostClusters();
            var refcounts = _refcounts ?? new Qcow2Refcounts(_file, _header, LayoutRefcountCacheBytes, static (_, _) => { });
            var metadata = MetadataClusters(clusters, refcounts);
            var runs = new HostRuns(report, _clusterBits);
            var m = 0;
            var next = 0L;
            foreach (var (cluster, _) in refcounts.NonZero())
            {
                if (cluster >= clusters)
                {
                    break;
                }

                m = FreeOrMetadata(runs, metadata, m, next, cluster);
                var isMetadata = m < metadata.Count && metadata[m] == cluster;
                runs.Add(cluster, 1, isMetadata ? HostFileCategory.Metadata : HostFileCategory.Data);
                m += isMetadata ? 1 : 0;
                next = cluster + 1;
            }

            FreeOrMetadata(runs, metadata, m, next, clusters);
            runs.Flush();
        }
    }

    private long HostClusters() => (_file.Length + _clusterSize - 1) >> _clusterBits;

    /// <summary>Clusters <c>[from, to)</c> have refcount zero: metadata where a structure points (a corrupt image), free elsewhere.</summary>
    private static int FreeOrMetadata(HostRuns runs, List<long> metadata, int m, long from, long to)
    {
        while (from < to)
        {
            if (m < metadata.Count && metadata[m] < to)
            {
                var meta = Math.Max(metadata[m], from);
                runs.Add(from, meta - from, HostFileCategory.Free);
                runs.Add(meta, 1, HostFileCategory.Metadata);
                from = meta + 1;
                m++;
            }
            else
            {
                runs.Add(from, to - from, HostFileCategory.Free);
                from = to;
            }
        }

        return m;
    }

    private List<long> MetadataClusters(long clusters, Qcow2Refcounts refcounts)
    {
        var set = new Qcow2ClusterSet(_clusterBits, clusters);
        set.AddRange(0, _clusterSize);
        set.AddRange(_header.L1TableOffset, _header.L1Size * 8L);
        AddL2Tables(set, _l1);
        var seenL1 = new HashSet<long> { _header.L1TableOffset };
        foreach (var snapshot in _snapshots)
        {
            // Tables outside the file or repeated (a crafted image) add nothing new and are not read again.
            var bytes = snapshot.L1Size * 8L;
            if (snapshot.L1Size > Qcow2Constants.MaxL1Bytes / 8 || snapshot.L1TableOffset < 0
                || snapshot.L1TableOffset + bytes > _file.Length || !seenL1.Add(snapshot.L1TableOffset))
            {
                continue;
            }

            set.AddRange(snapshot.L1TableOffset, bytes);
            AddL2Tables(set, ReadL1(_file, snapshot.L1TableOffset, (int)snapshot.L1Size));
        }

        if (_header.SnapshotCount > 0)
        {
            set.AddRange(_header.SnapshotsOffset, SnapshotTableLength());
        }

        set.AddRange(_header.RefcountTableOffset, (long)_header.RefcountTableClusters << _clusterBits);
        foreach (var block in refcounts.BlockOffsets())
        {
            set.AddRange(block, _clusterSize);
        }

        if (_header.FindExtension(Qcow2Constants.ExtensionCryptoHeader) is { Data.Length: >= 16 } crypto)
        {
            set.AddRange(BinaryPrimitives.ReadInt64BigEndian(crypto.Data), BinaryPrimitives.ReadInt64BigEndian(crypto.Data.AsSpan(8)));
        }

        AddBitmapClusters(set);
        return set.Sorted();
    }

    private void AddL2Tables(Qcow2ClusterSet set, ulong[] l1)
    {
        foreach (var entry in l1)
        {
            var l2 = (long)(entry & Qcow2Constants.L1OffsetMask);
            if (l2 != 0)
            {
                set.AddRange(l2, _clusterSize);
            }
        }
    }

    private void AddBitmapClusters(Qcow2ClusterSet set)
    {
        if (Qcow2BitmapsExtension.From(_header) is not { } extension || _bitmaps.Count == 0)
        {
            return;
        }

        set.AddRange(extension.DirectoryOffset, extension.DirectorySize);
        foreach (var bitmap in _bitmaps)
        {
            set.AddRange(bitmap.TableOffset, bitmap.TableSize * 8L);
            foreach (var entry in Qcow2BitmapTable.Read(_file, bitmap))
            {
                if (Qcow2BitmapTable.IsValidEntry(entry, _clusterSize) && (entry & Qcow2BitmapLimits.TableEntryOffsetMask) is var offset and not 0)
                {
                    set.AddRange((long)offset, _clusterSize);
                }
            }
        }
    }

    /// <summary>Joins neighbouring clusters of one category into one report.</summary>
    private sealed class HostRuns(Action<long, long, HostFileCategory> report, int clusterBits)
    {
        private long _start;
        private long _count;
        private HostFileCategory _category;

        public void Add(long cluster, long count, HostFileCategory category)
        {
            if (count <= 0)
            {
                return;
            }

            if (_count > 0 && category == _category && _start + _count == cluster)
            {
                _count += count;
                return;
            }

            Flush();
            (_start, _count, _category) = (cluster, count, category);
        }

        public void Flush()
        {
            if (_count > 0)
            {
                report(_start << clusterBits, _count << clusterBits, _category);
                _count = 0;
            }
        }
    }
}
