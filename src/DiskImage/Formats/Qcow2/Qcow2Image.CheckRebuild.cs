using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Rebuilding the refcount structure from counted references (QEMU's <c>rebuild_refcount_structure</c>):
/// new refcount blocks and a new table go into free clusters, are written, and only then does the header
/// switch to them. A crash before the switch leaves the old structure in force; the old one is leaked
/// afterwards and freed by the leak repair that follows.
/// </summary>
public sealed partial class Qcow2Image
{
    private void RebuildRefcountStructureLocked(Qcow2ReferenceArray refs)
    {
        _refcounts?.Cache.WriteDirty();
        var table = Array.Empty<long>();
        var changed = WriteRebuiltRefcountBlocks(refs, 0, refs.Count, ref table);
        long tableOffset;
        int tableClusters;
        do
        {
            tableClusters = (int)((table.Length * 8L + _clusterSize - 1) >> _clusterBits);
            long firstFree = 0;
            tableOffset = AllocateInReferenceArray(tableClusters, refs, ref firstFree);
            var start = tableOffset >> _clusterBits;
            changed = WriteRebuiltRefcountBlocks(refs, start, start + tableClusters, ref table);
        }
        while (changed);

        var raw = new byte[table.Length * 8L];
        for (var i = 0; i < table.Length; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(raw.AsSpan(i * 8), table[i]);
        }

        _file.Write(tableOffset, raw);
        _file.Flush();
        _header = _header with { RefcountTableOffset = tableOffset, RefcountTableClusters = tableClusters };
        // Only the two fields change, written alone as QEMU writes them (a whole header cluster would fill its holes).
        Span<byte> fields = stackalloc byte[12];
        BinaryPrimitives.WriteInt64BigEndian(fields, tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(fields[8..], (uint)tableClusters);
        _file.Write(Qcow2Header.FieldOffsets.RefcountTableOffset, fields);
        _file.Flush();
        _refcounts = new Qcow2Refcounts(_file, _header, DefaultRefcountCacheBytes, OnRefcountTableMovedForCheck);
    }

    private void OnRefcountTableMovedForCheck(long offset, int clusters)
    {
        _header = _header with { RefcountTableOffset = offset, RefcountTableClusters = clusters };
        WriteHeaderLocked();
        _file.Flush();
    }

    /// <summary>
    /// Writes a refcount block for every block-sized range in [first, end) that holds a non-zero count,
    /// allocating blocks in the reference array as needed. Returns whether the table had to grow.
    /// </summary>
    private bool WriteRebuiltRefcountBlocks(Qcow2ReferenceArray refs, long first, long end, ref long[] table)
    {
        var blockBits = _clusterBits + 3 - _header.RefcountOrder;
        var blockEntries = 1L << blockBits;
        var grown = false;
        long firstFree = 0;
        var block = new byte[_clusterSize];
        for (var cluster = first; cluster < end; cluster++)
        {
            if (refs[cluster] == 0)
            {
                continue;
            }

            var index = cluster >> blockBits;
            var blockStart = index << blockBits;
            long blockOffset;
            if (index < table.Length && table[index] != 0)
            {
                blockOffset = table[index];
            }
            else
            {
                firstFree = Math.Max(firstFree, blockStart);
                blockOffset = AllocateInReferenceArray(1, refs, ref firstFree);
                end = Math.Max(end, (blockOffset >> _clusterBits) + 1);
                if (index >= table.Length)
                {
                    var entries = (((index + 1) * 8) + _clusterSize - 1) / _clusterSize * _clusterSize / 8;
                    if (entries * 8 > Qcow2Constants.MaxRefcountTableBytes)
                    {
                        throw new InvalidImageException("Reference count table too large");
                    }

                    Array.Resize(ref table, (int)entries);
                    grown = true;
                }

                table[index] = blockOffset;
            }

            Array.Clear(block);
            for (long i = 0; i < blockEntries; i++)
            {
                var value = refs[blockStart + i];
                if (value != 0)
                {
                    Qcow2RefcountBlock.Set(block, (int)i, _header.RefcountOrder, value);
                }
            }

            _file.Write(blockOffset, block);
            cluster = blockStart + blockEntries - 1;
        }

        _file.Flush();
        return grown;
    }

    /// <summary>QEMU's <c>alloc_clusters_imrt</c>: the first run of free clusters at or after <paramref name="firstFree"/>, taken with refcount 1.</summary>
    private long AllocateInReferenceArray(int count, Qcow2ReferenceArray refs, ref long firstFree)
    {
        var cluster = firstFree;
        var contiguous = 0;
        var firstGap = true;
        for (; cluster < refs.Count && contiguous < count; cluster++)
        {
            if (refs[cluster] == 0)
            {
                contiguous++;
                if (firstGap)
                {
                    firstFree = cluster;
                    firstGap = false;
                }
            }
            else
            {
                contiguous = 0;
            }
        }

        if (contiguous < count)
        {
            refs.Grow(cluster + count - contiguous);
        }

        cluster -= contiguous;
        for (var i = 0; i < count; i++)
        {
            refs[cluster + i] = 1;
        }

        return cluster << _clusterBits;
    }
}
