namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <inheritdoc/>
    public bool TryCompressCluster(ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        if (cluster.Length != _clusterSize)
        {
            throw new ArgumentException($"A cluster is {_clusterSize} bytes.", nameof(cluster));
        }

        return Qcow2Compression.TryCompress(_header.CompressionType, cluster, output, out written);
    }

    /// <summary>
    /// Ends the file on a 512-byte boundary, as QEMU's qcow2 driver does when a compressed copy ends (qemu-img
    /// convert -c signals the end with an empty compressed write), so the file's bytes are QEMU's.
    /// </summary>
    public void AlignFileEndToSector()
    {
        CheckWritable();
        lock (_lock)
        {
            var length = _file.Length;
            var aligned = (length + 511) & ~511L;
            if (aligned != length)
            {
                _file.SetLength(aligned);
            }
        }
    }

    /// <inheritdoc/>
    public void WriteCompressedCluster(long guestOffset, ReadOnlySpan<byte> compressed)
    {
        CheckWritable();
        if ((guestOffset & (_clusterSize - 1)) != 0)
        {
            throw new ArgumentException("Compressed clusters are written at cluster-aligned offsets.", nameof(guestOffset));
        }

        var length = (int)Math.Min(_clusterSize, Length - guestOffset);
        CheckRange(guestOffset, length);
        CheckDataAccess();
        MarkBitmapsDirty(guestOffset, length);
        if (compressed.Length == 0 || compressed.Length >= _clusterSize)
        {
            throw new ArgumentException("Compressed data must be shorter than a cluster.", nameof(compressed));
        }

        if (Cipher is not null)
        {
            throw new UnsupportedFeatureException("Compressed clusters cannot be written to encrypted images");
        }

        if (HasDataFile)
        {
            // Guest clusters map one to one onto the data file, which leaves no room for compressed ones (QEMU: ENOTSUP).
            throw new ErrnoException(ErrnoException.ENOTSUP, ErrnoException.Text(ErrnoException.ENOTSUP));
        }

        lock (_lock)
        {
            MarkDirtyForLazyRefcountsLocked();
            var clusterIndex = guestOffset >> _clusterBits;
            var l1Index = clusterIndex >> _l2Bits;
            var l2Index = (int)(clusterIndex & (L2Entries - 1));
            var l2Offset = L2TableForWriteLocked(l1Index);
            var hostOffset = AllocateBytesLocked(compressed.Length);
            _file.Write(hostOffset, compressed);

            var shift = 62 - (_clusterBits - 8);
            var sectors = (ulong)(((hostOffset + compressed.Length - 1) >> 9) - (hostOffset >> 9));
            var entry = (ulong)hostOffset | Qcow2Constants.FlagCompressed | (sectors << shift);
            var table = _l2Cache.Get(l2Offset);
            var old = ReadEntry(table, l2Index);
            SetEntryLocked(table, l2Offset, l2Index, entry, 0);
            FreeEntryLocked(old);
        }
    }

    /// <summary>
    /// Takes <paramref name="size"/> bytes for compressed data, packing them after the previous compressed
    /// cluster as QEMU does; every host cluster the bytes touch gains one reference.
    /// </summary>
    private long AllocateBytesLocked(int size)
    {
        var refcounts = _refcounts!;
        var offset = _freeByteOffset;
        if (offset != 0 && refcounts.Get(offset >> _clusterBits) >= refcounts.Max)
        {
            offset = 0;
        }

        var freeInCluster = _clusterSize - (int)(offset & (_clusterSize - 1));
        while (true)
        {
            if (offset == 0 || freeInCluster < size)
            {
                var next = refcounts.FindFreeWithBlocks(1) << _clusterBits;
                var roundedUp = (offset + _clusterSize - 1) & ~((long)_clusterSize - 1);
                if (offset == 0 || roundedUp != next)
                {
                    offset = next;
                    freeInCluster = _clusterSize;
                }
                else
                {
                    freeInCluster += _clusterSize;
                }
            }

            if (freeInCluster >= size)
            {
                break;
            }
        }

        for (var cluster = offset >> _clusterBits; cluster <= (offset + size - 1) >> _clusterBits; cluster++)
        {
            refcounts.Add(cluster, 1);
        }

        _freeByteOffset = ((offset + size) & (_clusterSize - 1)) == 0 ? 0 : offset + size;
        return offset;
    }
}
