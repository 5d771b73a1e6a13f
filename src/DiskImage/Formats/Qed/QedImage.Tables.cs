using System.Buffers.Binary;

namespace DiskImage.Formats.Qed;

public sealed partial class QedImage
{
    /// <summary>QEMU's L2 cache holds this many tables.</summary>
    private const int MaxCachedTables = 50;

    /// <summary>Entries per 512-byte sector: tables are written back in whole sectors, as QEMU does.</summary>
    private const int EntriesPerSector = 512 / 8;

    private readonly Dictionary<ulong, ulong[]> _l2Cache = [];
    private readonly Queue<ulong> _l2Order = new();

    private int L1Shift => _clusterBits + _l2Bits;

    /// <summary>
    /// Looks up the run at <paramref name="pos"/>, at most <paramref name="length"/> bytes and never past the end of
    /// its L2 table's span: its kind, the file offset of its first cluster (when found) and its length. Clusters of
    /// one run are all of one kind and, when found, contiguous in the file.
    /// </summary>
    private (QedClusterKind Kind, ulong Cluster, long Length) FindLocked(long pos, long length)
    {
        var upos = (ulong)pos;
        var spanEnd = ((upos >> L1Shift) + 1) << L1Shift;
        length = (long)Math.Min((ulong)length, spanEnd - upos);
        var l1Index = upos >> L1Shift;
        var l2Offset = l1Index < (ulong)_l1.Length ? _l1[l1Index] : 0;
        if (l2Offset == 0)
        {
            return (QedClusterKind.L1Missing, 0, length);
        }

        if (!_header.IsTableOffsetValid(l2Offset, _fileSize))
        {
            throw new ErrnoException(22, "Invalid argument");
        }

        var table = L2TableLocked(l2Offset);
        var index = (int)((upos >> _clusterBits) & (ulong)(table.Length - 1));
        var into = (long)(upos & (ulong)(ClusterSize - 1));
        var wanted = (int)Math.Min(table.Length - index, (into + length + ClusterSize - 1) >> _clusterBits);
        var first = table[index];
        var n = 1;
        for (var last = first; n < wanted; n++)
        {
            var next = table[index + n];
            var same = last switch
            {
                0 => next == 0,
                1 => next == 1,
                _ => next == last + (ulong)ClusterSize,
            };
            if (!same)
            {
                break;
            }

            last = next;
        }

        var kind = first switch
        {
            0 => QedClusterKind.L2Missing,
            1 => QedClusterKind.Zero,
            _ when _header.IsClusterOffsetValid(first, _fileSize) => QedClusterKind.Found,
            _ => throw new ErrnoException(22, "Invalid argument"),
        };
        return (kind, first, Math.Min(length, ((long)n << _clusterBits) - into));
    }

    private ulong[] L2TableLocked(ulong offset)
    {
        if (_l2Cache.TryGetValue(offset, out var table))
        {
            return table;
        }

        table = ReadTable(_file, offset, _header.TableEntries);
        CacheLocked(offset, table);
        return table;
    }

    private void CacheLocked(ulong offset, ulong[] table)
    {
        // Tables may be up to 1 GiB each: the cache keeps at most 50 and at most 256 MiB of them (at least one).
        while (_l2Order.Count > 0 && (_l2Order.Count >= MaxCachedTables || (long)(_l2Order.Count + 1) * _header.TableBytes > 256L << 20))
        {
            _l2Cache.Remove(_l2Order.Dequeue());
        }

        _l2Cache[offset] = table;
        _l2Order.Enqueue(offset);
    }

    /// <summary>Writes entries [index, index + count) of a table back, widened to whole 512-byte sectors.</summary>
    private void WriteTableLocked(ulong tableOffset, ulong[] table, int index, int count)
    {
        var start = index & ~(EntriesPerSector - 1);
        var end = Math.Min(table.Length, (index + count + EntriesPerSector - 1) & ~(EntriesPerSector - 1));
        var raw = new byte[(end - start) * 8];
        for (var i = start; i < end; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan((i - start) * 8), table[i]);
        }

        _file.Write((long)tableOffset + (start * 8L), raw);
    }
}
