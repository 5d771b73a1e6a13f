using DiskImage.IO;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Formats.Qcow;

/// <summary>
/// Reads and writes, cluster by cluster. A cluster is written in place once allocated; a first write (or a write
/// into a compressed cluster) builds the whole new cluster (backing or decompressed data around the written bytes),
/// writes it at the end of the file, and only then points the L2 entry at it. QEMU writes the entry first and the
/// data after; this order means a crash leaks a cluster but never shows a half-written one or loses the old data.
/// Each file access raises the blkdebug event QEMU's qcow driver raises before it (so injected errors hit the same
/// requests).
/// </summary>
public sealed partial class QcowImage : ICompressedClusterWriter
{
    /// <summary>The last decompressed cluster (QEMU keeps one too), by its file offset; -1 for none.</summary>
    private long _cachedCompressedOffset = -1;
    private byte[]? _decompressed;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        byte[]? sealedCluster = null;
        while (!buffer.IsEmpty)
        {
            var inCluster = (int)(offset & (_clusterSize - 1));
            var n = Math.Min(buffer.Length, _clusterSize - inCluster);
            var piece = buffer[..n];
            ulong entry;
            lock (_lock)
            {
                entry = EntryLocked(offset);
                if (IsCompressed(entry))
                {
                    DecompressLocked(entry).AsSpan(inCluster, n).CopyTo(piece);
                }
            }

            if (entry == 0)
            {
                if (_backing is not null)
                {
                    BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadBackingAio);
                }

                ReadBacking(offset, piece);
            }
            else if (!IsCompressed(entry))
            {
                var host = DataOffset(entry);
                BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadAio);
                if (_cipher is null)
                {
                    _file.Read(host + inCluster, piece);
                }
                else
                {
                    // Whole clusters are decrypted (they are whole sectors); requests need not be sector-aligned.
                    sealedCluster ??= new byte[_clusterSize];
                    _file.Read(host, sealedCluster);
                    _cipher.Decrypt(offset - inCluster, host, sealedCluster);
                    sealedCluster.AsSpan(inCluster, n).CopyTo(piece);
                }
            }

            offset += n;
            buffer = buffer[n..];
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        lock (_lock)
        {
            while (!data.IsEmpty)
            {
                var inCluster = (int)(offset & (_clusterSize - 1));
                var n = Math.Min(data.Length, _clusterSize - inCluster);
                WriteClusterLocked(offset, inCluster, data[..n]);
                offset += n;
                data = data[n..];
            }
        }
    }

    /// <summary>
    /// QEMU's qcow driver has no zero-write of its own (the block layer writes zero buffers); here clusters that already
    /// read as zeroes (unallocated, no backing file) are left alone and the others get zero bytes.
    /// </summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        var zeroes = new byte[_clusterSize];
        lock (_lock)
        {
            while (length > 0)
            {
                var inCluster = (int)(offset & (_clusterSize - 1));
                var n = (int)Math.Min(length, _clusterSize - inCluster);
                if (_backing is not null || EntryLocked(offset) != 0)
                {
                    WriteClusterLocked(offset, inCluster, zeroes.AsSpan(0, n));
                }

                offset += n;
                length -= n;
            }
        }
    }

    /// <summary>QEMU ignores discards on qcow; here the range is zeroed where that frees nothing to write.</summary>
    public void Discard(long offset, long length) => WriteZeroes(offset, length, mayUnmap: true);

    /// <inheritdoc/>
    public void Flush() => HostMappedIo.Flush(_file);

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) => HostMappedIo.GetExtents(this, _length, offset, length);

    /// <summary>
    /// QEMU's block status: a plain cluster maps to its place in the file; a compressed or encrypted one is data with
    /// no offset; an unallocated one (merged with the unallocated clusters after it) shows the backing file.
    /// </summary>
    HostMapping IHostMappedImage.MapRun(long offset, long length)
    {
        var inCluster = offset & (_clusterSize - 1);
        var n = Math.Min(length, _clusterSize - inCluster);
        lock (_lock)
        {
            var entry = EntryLocked(offset);
            if (entry == 0)
            {
                while (n < length && EntryLocked(offset + n) == 0)
                {
                    n = Math.Min(length, n + _clusterSize);
                }

                return new HostMapping(n, ExtentKind.Unallocated, null);
            }

            return IsCompressed(entry) || _cipher is not null || _header.CryptMethod != QcowHeader.CryptNone
                ? new HostMapping(n, ExtentKind.Data, null)
                : new HostMapping(n, ExtentKind.Data, DataOffset(entry) + inCluster);
        }
    }

    /// <inheritdoc/>
    public bool TryCompressCluster(ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        // QEMU inflates with a 4 KiB window and the deflater here may reach further back, so larger clusters are
        // stored plain; so are clusters of encrypted images (QEMU would store them compressed but unencrypted).
        if (cluster.Length > 4096 || _header.CryptMethod != QcowHeader.CryptNone)
        {
            written = 0;
            return false;
        }

        return Qcow2.Qcow2Compression.TryCompress(Qcow2.Qcow2CompressionType.Zlib, cluster, output, out written);
    }

    /// <summary>
    /// Appends a compressed cluster (unaligned, right after the last byte of the file) and points the L2 entry at it,
    /// with the compressed length in the entry's top bits. A cluster that is already allocated is written plain.
    /// </summary>
    public void WriteCompressedCluster(long guestOffset, ReadOnlySpan<byte> compressed)
    {
        CheckWritable();
        CheckRange(guestOffset, Math.Min(_clusterSize, _length - guestOffset));
        lock (_lock)
        {
            var (table, tableOffset) = L2ForWriteLocked(guestOffset);
            var index = L2Index(guestOffset);
            if (table[index] != 0 || compressed.Length >= _clusterSize)
            {
                var plain = new byte[_clusterSize];
                Qcow2.Qcow2Compression.Decompress(Qcow2.Qcow2CompressionType.Zlib, compressed.ToArray(), compressed.Length, plain, 0);
                WriteClusterLocked(guestOffset, 0, plain.AsSpan(0, (int)Math.Min(_clusterSize, _length - guestOffset)));
                return;
            }

            var host = AllocateLocked(compressed.Length, alignToCluster: false);
            if ((ulong)host > _compressedOffsetMask)
            {
                throw new ErrnoException(ErrnoException.EFBIG, ErrnoException.Text(ErrnoException.EFBIG));
            }

            BlkdebugStorage.Raise(_file, BlkdebugEvent.WriteCompressed);
            _file.Write(host, compressed);
            _file.Flush();
            BlkdebugStorage.Raise(_file, BlkdebugEvent.L2UpdateCompressed);
            SetL2EntryLocked(table, tableOffset, index, (ulong)host | CompressedFlag | ((ulong)compressed.Length << (63 - _clusterBits)));
        }
    }

    private void WriteClusterLocked(long offset, int inCluster, ReadOnlySpan<byte> piece)
    {
        var clusterStart = offset - inCluster;
        var (table, tableOffset) = L2ForWriteLocked(offset);
        var index = L2Index(offset);
        var entry = table[index];
        if (entry != 0 && !IsCompressed(entry))
        {
            WriteInPlace(DataOffset(entry), clusterStart, inCluster, piece);
            return;
        }

        BlkdebugStorage.Raise(_file, BlkdebugEvent.ClusterAlloc);
        var cluster = new byte[_clusterSize];
        if (piece.Length < _clusterSize)
        {
            if (entry != 0)
            {
                DecompressLocked(entry).CopyTo(cluster, 0);
            }
            else
            {
                ReadBacking(clusterStart, cluster);
            }
        }

        piece.CopyTo(cluster.AsSpan(inCluster));
        var host = AllocateLocked(_clusterSize, alignToCluster: true);
        _cipher?.Encrypt(clusterStart, host, cluster);
        BlkdebugStorage.Raise(_file, BlkdebugEvent.WriteAio);
        _file.Write(host, cluster);
        _file.Flush();
        BlkdebugStorage.Raise(_file, BlkdebugEvent.L2Update);
        SetL2EntryLocked(table, tableOffset, index, (ulong)host);
        _cachedCompressedOffset = -1;
    }

    /// <summary>A write into an allocated cluster; an encrypted one is rewritten in whole sectors.</summary>
    private void WriteInPlace(long host, long clusterStart, int inCluster, ReadOnlySpan<byte> piece)
    {
        BlkdebugStorage.Raise(_file, BlkdebugEvent.WriteAio);
        if (_cipher is null)
        {
            _file.Write(host + inCluster, piece);
            return;
        }

        var first = inCluster & ~511;
        var last = (inCluster + piece.Length + 511) & ~511;
        var sectors = new byte[last - first];
        if (first != inCluster || last != inCluster + piece.Length)
        {
            _file.Read(host + first, sectors);
            _cipher.Decrypt(clusterStart + first, host + first, sectors);
        }

        piece.CopyTo(sectors.AsSpan(inCluster - first));
        _cipher.Encrypt(clusterStart + first, host + first, sectors);
        _file.Write(host + first, sectors);
    }

    /// <summary>Backing data for a guest range; what lies beyond the backing file (or with none) reads as zeroes.</summary>
    private void ReadBacking(long offset, Span<byte> buffer) => HostMappedIo.ReadBacking(_backing, offset, buffer);

    /// <summary>
    /// Inflates a compressed cluster: its length is in the entry's top bits (below the flag), its offset in the rest.
    /// Compressed clusters are not encrypted, as in QEMU.
    /// </summary>
    private byte[] DecompressLocked(ulong entry)
    {
        var host = (long)(entry & _compressedOffsetMask);
        var decompressed = _decompressed ??= new byte[_clusterSize];
        if (_cachedCompressedOffset == host)
        {
            return decompressed;
        }

        var length = (int)((entry >> (63 - _clusterBits)) & (ulong)(_clusterSize - 1));
        var compressed = new byte[length];
        BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadCompressed);
        _file.Read(host, compressed);
        _cachedCompressedOffset = -1;
        try
        {
            Qcow2.Qcow2Compression.Decompress(Qcow2.Qcow2CompressionType.Zlib, compressed, length, decompressed, host);
        }
        catch (InvalidImageException)
        {
            throw IoError();
        }

        _cachedCompressedOffset = host;
        return decompressed;
    }
}
