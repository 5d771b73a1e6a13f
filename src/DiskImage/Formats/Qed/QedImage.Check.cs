using DiskImage.Operations.Check;

namespace DiskImage.Formats.Qed;

public sealed partial class QedImage : IConsistencyCheckable
{
    /// <summary>Repairs clear invalid table entries; leaks are counted, never reclaimed (QED has no free-space map).</summary>
    bool IConsistencyCheckable.CanRepair => true;

    CheckCounts IConsistencyCheckable.Check(CheckRepair repair)
    {
        if (repair != CheckRepair.None)
        {
            CheckWritable();
        }

        lock (_lock)
        {
            return CheckLocked(repair != CheckRepair.None);
        }
    }

    /// <summary>The check a writable open of a need-check image runs (with repairs); it fails only on I/O errors.</summary>
    private void CheckAtOpen()
    {
        lock (_lock)
        {
            var counts = CheckLocked(fix: true);
            if (counts.CheckErrors > 0)
            {
                throw new ImageCorruptException("Image corrupted");
            }
        }
    }

    /// <summary>
    /// QEMU's QED check: every table and data cluster must be aligned, past the header and inside the file, and
    /// referenced once; clusters referenced by nothing are leaks. With <paramref name="fix"/>, invalid entries are
    /// cleared (tables written back whole) and, when nothing uncorrectable is left, the need-check bit is cleared
    /// after a flush.
    /// </summary>
    private CheckCounts CheckLocked(bool fix)
    {
        var counts = new CheckCounts
        {
            TotalClusters = (long)((_header.ImageSize + _header.ClusterSize - 1) / _header.ClusterSize),
        };
        var nclusters = CheckClusterIndex(_fileSize);
        var used = new System.Collections.BitArray((int)Math.Min(nclusters, int.MaxValue));
        var invalidL1 = 0;

        MarkUsed(used, _header.L1TableOffset, (int)_header.TableSize, counts);
        for (var i = 0; i < _l1.Length; i++)
        {
            var offset = _l1[i];
            if (offset == 0)
            {
                continue;
            }

            if (!_header.IsTableOffsetValid(offset, _fileSize))
            {
                Invalid(counts, fix);
                if (fix)
                {
                    _l1[i] = 0;
                }

                invalidL1++;
                continue;
            }

            if (!MarkUsed(used, offset, (int)_header.TableSize, counts))
            {
                continue;
            }

            ulong[] table;
            try
            {
                table = L2TableLocked(offset);
            }
            catch (IOException)
            {
                counts.CheckErrors++;
                continue;
            }

            if (CheckL2(table, used, counts, fix) > 0 && fix)
            {
                WriteTableLocked(offset, table, 0, table.Length);
            }
        }

        if (invalidL1 > 0 && fix)
        {
            WriteTableLocked(_header.L1TableOffset, _l1, 0, _l1.Length);
        }

        for (var cluster = (long)_header.HeaderSize; cluster < nclusters; cluster++)
        {
            if (!used[(int)cluster])
            {
                counts.Leaks++;
            }
        }

        if (fix && counts.Corruptions == 0 && counts.CheckErrors == 0 && _header.NeedsCheck)
        {
            _file.Flush();
            _header = _header with { Features = _header.Features & ~QedHeader.FeatureNeedCheck };
            WriteHeaderLocked();
        }

        return counts;
    }

    private int CheckL2(ulong[] table, System.Collections.BitArray used, CheckCounts counts, bool fix)
    {
        var invalid = 0;
        ulong last = 0;
        for (var i = 0; i < table.Length; i++)
        {
            var offset = table[i];
            if (offset <= 1)
            {
                continue;
            }

            counts.AllocatedClusters++;
            if (last != 0 && last + _header.ClusterSize != offset)
            {
                counts.FragmentedClusters++;
            }

            last = offset;
            if (!_header.IsClusterOffsetValid(offset, _fileSize))
            {
                Invalid(counts, fix);
                if (fix)
                {
                    table[i] = 0;
                }

                invalid++;
                continue;
            }

            MarkUsed(used, offset, 1, counts);
        }

        return invalid;
    }

    /// <summary>
    /// The cluster number QEMU's check uses: the offset rounded up to a cluster and divided by the cluster size less
    /// one. That is the true index below cluster-size-less-one clusters and drifts above it, so that on large files
    /// QEMU counts some clusters as leaked that are not; the same numbering gives the same report.
    /// </summary>
    private long CheckClusterIndex(ulong bytes) =>
        (long)(((bytes + _header.ClusterSize - 1) & ~(ulong)(_header.ClusterSize - 1)) / (_header.ClusterSize - 1));

    private static void Invalid(CheckCounts counts, bool fix)
    {
        if (fix)
        {
            counts.CorruptionsFixed++;
        }
        else
        {
            counts.Corruptions++;
        }
    }

    /// <summary>Marks clusters referenced; each one referenced before counts as a corruption. False if any was.</summary>
    private bool MarkUsed(System.Collections.BitArray used, ulong offset, int n, CheckCounts counts)
    {
        var cluster = CheckClusterIndex(offset);
        var corruptions = 0;
        for (var i = 0; i < n; i++, cluster++)
        {
            if (cluster >= used.Length)
            {
                continue;
            }

            if (used[(int)cluster])
            {
                corruptions++;
            }

            used[(int)cluster] = true;
        }

        counts.Corruptions += corruptions;
        return corruptions == 0;
    }
}
