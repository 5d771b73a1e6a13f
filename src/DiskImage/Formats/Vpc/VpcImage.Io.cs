using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vpc;

public sealed partial class VpcImage
{
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        if (IsFixed)
        {
            _file.Read(offset, buffer);
            return;
        }

        while (!buffer.IsEmpty)
        {
            var n = (int)Math.Min(buffer.Length, _blockSize - (offset % _blockSize));
            var host = HostOffset(offset);
            if (host < 0)
            {
                buffer[..n].Clear();
            }
            else
            {
                _file.Read(host, buffer[..n]);
            }

            offset += n;
            buffer = buffer[n..];
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        if (IsFixed)
        {
            _file.Write(offset, data);
            return;
        }

        while (!data.IsEmpty)
        {
            var n = (int)Math.Min(data.Length, _blockSize - (offset % _blockSize));
            _file.Write(WritableOffset(offset), data[..n]);
            offset += n;
            data = data[n..];
        }
    }

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        if (IsFixed)
        {
            _file.WriteZeroes(offset, length, mayUnmap);
            return;
        }

        // Unallocated blocks already read as zeroes (a VHD has no backing file in QEMU), so only allocated
        // blocks are written.
        while (length > 0)
        {
            var n = Math.Min(length, _blockSize - (offset % _blockSize));
            var host = HostOffset(offset);
            if (host >= 0)
            {
                _file.WriteZeroBytes(host, n);
            }

            offset += n;
            length -= n;
        }
    }

    public void Discard(long offset, long length) => WriteZeroes(offset, length, mayUnmap: true);

    public void Flush()
    {
        if (_file.CanWrite)
        {
            _file.Flush();
        }
    }

    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        CheckRange(offset, length);
        var extents = new List<Extent>();
        var end = offset + length;
        while (offset < end)
        {
            var run = MapRun(offset, end - offset);
            if (IsFixed)
            {
                foreach (var extent in _file.GetExtents(offset, run.Length))
                {
                    HostFile.Add(extents, extent);
                }
            }
            else
            {
                HostFile.Add(extents, new Extent(offset, run.Length, run.Kind));
            }

            offset += run.Length;
        }

        return extents;
    }

    HostMapping IHostMappedImage.MapRun(long offset, long length) => MapRun(offset, length);

    private HostMapping MapRun(long offset, long length)
    {
        if (IsFixed)
        {
            return new HostMapping(length, ExtentKind.Data, offset, HostMappingMode.FileZeroes);
        }

        var host = HostOffset(offset);
        var n = Math.Min(length, _blockSize - (offset % _blockSize));
        if (host >= 0)
        {
            return new HostMapping(n, ExtentKind.Data, host);
        }

        // Unallocated blocks read as zeroes; runs of them are merged.
        while (n < length && HostOffset(offset + n) < 0)
        {
            n = Math.Min(length, n + _blockSize);
        }

        return new HostMapping(n, ExtentKind.Zero, null);
    }

    /// <summary>File offset of guest byte <paramref name="offset"/>, or -1 when its block is not allocated.</summary>
    private long HostOffset(long offset)
    {
        var index = offset / _blockSize;
        var entry = index < _bat.Length ? Volatile.Read(ref _bat[index]) : Unallocated;
        return entry == Unallocated ? -1 : (entry * 512L) + _bitmapSize + (offset % _blockSize);
    }

    /// <summary>
    /// File offset for a write at <paramref name="offset"/>, allocating the block when needed. As QEMU does,
    /// a block's sector bitmap is set to all ones before the block is written, so other readers that honour
    /// the bitmap see every sector.
    /// </summary>
    private long WritableOffset(long offset)
    {
        lock (_allocation)
        {
            var index = (int)(offset / _blockSize);
            if (index >= _bat.Length)
            {
                throw new InvalidImageException("Write past the end of the block allocation table");
            }

            if (_bat[index] == Unallocated)
            {
                AllocateBlock(index);
            }
            else if (_bat[index] * 512L != _lastBitmapOffset)
            {
                _lastBitmapOffset = _bat[index] * 512L;
                WriteFullBitmap(_lastBitmapOffset);
            }

            return HostOffset(offset);
        }
    }

    /// <summary>QEMU's order: the bitmap, then the footer moved past the new block, then the table entry.</summary>
    private void AllocateBlock(int index)
    {
        var blockStart = _freeDataBlockOffset;
        if (blockStart / 512 >= Unallocated)
        {
            throw new InvalidImageException("The image file is too large for its block allocation table");
        }

        WriteFullBitmap(blockStart);
        _freeDataBlockOffset = blockStart + _bitmapSize + _blockSize;
        _file.Write(_freeDataBlockOffset, _footerBytes);
        _file.Flush();
        Span<byte> entry = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)(blockStart / 512));
        _file.Write(_batOffset + (index * 4L), entry);
        _file.Flush();
        Volatile.Write(ref _bat[index], (uint)(blockStart / 512));
        _lastBitmapOffset = blockStart;
    }

    private void WriteFullBitmap(long bitmapOffset)
    {
        var bitmap = new byte[_bitmapSize];
        bitmap.AsSpan().Fill(0xFF);
        _file.Write(bitmapOffset, bitmap);
        _file.Flush();
    }
}
