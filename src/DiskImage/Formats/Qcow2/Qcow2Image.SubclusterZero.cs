namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Zero writes on an image with extended L2 entries, split and decided as QEMU's block layer and qcow2 driver do,
/// so that the same request leaves the same L2 entries and bitmaps: the request is cut into an unaligned head (up to
/// the next subcluster boundary), a subcluster-aligned body and an unaligned tail; each piece is first tried as a
/// metadata-only zero write, and a piece that cannot be one (a compressed cluster only partly covered, an unaligned
/// piece whose subcluster holds data) is written as literal zero bytes instead, allocating like any write.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>The most literal zeroes written at once when a piece falls back to a plain write (QEMU's bounce buffer).</summary>
    private const int ZeroFallbackChunk = 16 << 20;

    private void WriteZeroesExtended(long offset, long length, bool mayUnmap)
    {
        var alignment = SubclusterSize;
        var head = (int)(offset & (alignment - 1));
        var tail = (int)((offset + length) & (alignment - 1));
        while (length > 0)
        {
            var piece = length;
            if (head != 0)
            {
                piece = Math.Min(length, alignment - head);
                head = (int)((head + piece) % alignment);
            }
            else if (tail != 0 && piece > alignment)
            {
                piece -= tail;
            }

            bool zeroed;
            lock (_lock)
            {
                zeroed = TryZeroSubclustersLocked(offset, piece, mayUnmap);
            }

            if (!zeroed)
            {
                piece = Math.Min(piece, ZeroFallbackChunk);
                WriteLiteralZeroes(offset, piece);
            }

            offset += piece;
            length -= piece;
        }
    }

    /// <summary>
    /// The metadata-only zero write of one piece; false when it cannot be done that way (nothing is changed then,
    /// except that, as in QEMU, a refused partial tail cluster leaves the head and body already zeroed).
    /// </summary>
    private bool TryZeroSubclustersLocked(long offset, long bytes, bool mayUnmap)
    {
        var size = SubclusterSize;
        var head = offset & (size - 1);
        var end = offset + bytes;
        var tail = end == Length ? 0 : ((end + size - 1) & ~((long)size - 1)) - end;
        if (head != 0 || tail != 0)
        {
            // An unaligned piece (inside one subcluster) widens to its subcluster when the rest reads as zeroes
            // already and the subcluster holds no data of its own.
            if (!RangeReadsAsZeroLocked(offset - head, head) || !RangeReadsAsZeroLocked(end, Math.Min(tail, Length - end)))
            {
                return false;
            }

            offset -= head;
            bytes = size;
            if (LookupLocked(offset, 1).Kind is not (Qcow2ClusterKind.Unallocated or Qcow2ClusterKind.Zero))
            {
                return false;
            }
        }

        end = offset + bytes;
        var clusterMask = (long)_clusterSize - 1;
        var headBytes = Math.Min(end, (offset + clusterMask) & ~clusterMask) - offset;
        var bodyStart = offset + headBytes;
        var tailBytes = end >= Length ? 0 : end - Math.Max(bodyStart, end & ~clusterMask);
        var bodyEnd = end - tailBytes;
        if (headBytes > 0 && !TryZeroPartialClusterLocked(offset, headBytes))
        {
            return false;
        }

        for (var position = bodyStart; position < bodyEnd; position += _clusterSize)
        {
            ZeroWholeClusterLocked(position, mayUnmap, discard: false);
        }

        return tailBytes <= 0 || TryZeroPartialClusterLocked(bodyEnd, tailBytes);
    }

    /// <summary>
    /// Sets the zero bits (and clears the allocation bits) of whole subclusters inside one cluster, keeping its host
    /// cluster; false for a compressed cluster, which cannot be zeroed in part.
    /// </summary>
    private bool TryZeroPartialClusterLocked(long offset, long bytes)
    {
        var clusterIndex = offset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & (L2Entries - 1));
        var l2Offset = L2TableForWriteLocked(l1Index);
        var table = _l2Cache.Get(l2Offset);
        var entry = ReadEntry(table, l2Index);
        if ((entry & Qcow2Constants.FlagCompressed) != 0)
        {
            return false;
        }

        var first = (int)((offset & ((long)_clusterSize - 1)) >> _subclusterBits);
        var count = (int)((bytes + SubclusterSize - 1) >> _subclusterBits);
        var mask = (uint)(((1UL << (first + count)) - 1) & ~((1UL << first) - 1));
        var bitmap = ReadBitmap(table, l2Index);
        var updated = (bitmap | ((ulong)mask << 32)) & ~(ulong)mask;
        if (updated != bitmap)
        {
            MarkDirtyForLazyRefcountsLocked();
            table = _l2Cache.Get(l2Offset);
            SetEntryLocked(table, l2Offset, l2Index, entry, updated);
        }

        return true;
    }

    /// <summary>Writes zero bytes through the ordinary write path (allocating, copying partial subclusters as any write does).</summary>
    private void WriteLiteralZeroes(long offset, long length)
    {
        var zeroes = new byte[(int)Math.Min(length, ZeroFallbackChunk)];
        var done = 0L;
        while (done < length)
        {
            var take = (int)Math.Min(length - done, zeroes.Length);
            WriteGuest(offset + done, zeroes.AsSpan(0, take));
            done += take;
        }
    }
}
