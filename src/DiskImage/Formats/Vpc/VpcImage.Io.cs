using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vpc;

public sealed partial class VpcImage
{
    long IBlockMap.BlockSize => _blockSize;

    bool IBlockMap.NewBlocksAreSparse => true;

    IStorage IBlockMap.BlockFile => _file;

    long IBlockMap.HostOffset(long offset) => HostOffset(offset);

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        if (IsFixed)
        {
            _file.Read(offset, buffer);
            return;
        }

        BlockMappedIo.Read(this, offset, buffer);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        if (IsFixed)
        {
            _file.Write(offset, data);
            return;
        }

        BlockMappedIo.Write(this, offset, data);
    }

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        if (IsFixed)
        {
            _file.WriteZeroes(offset, length, mayUnmap);
            return;
        }

        BlockMappedIo.WriteZeroes(this, offset, length);
    }

    /// <inheritdoc/>
    public void Discard(long offset, long length) => WriteZeroes(offset, length, mayUnmap: true);

    /// <inheritdoc/>
    public void Flush()
    {
        if (_file.CanWrite)
        {
            _file.Flush();
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        CheckRange(offset, length);
        if (!IsFixed)
        {
            return BlockMappedIo.GetExtents(this, offset, length);
        }

        var extents = new List<Extent>();
        foreach (var extent in _file.GetExtents(offset, length))
        {
            HostFile.Add(extents, extent);
        }

        return extents;
    }

    HostMapping IHostMappedImage.MapRun(long offset, long length) => IsFixed
        ? new HostMapping(length, ExtentKind.Data, offset, HostMappingMode.FileZeroes)
        : BlockMappedIo.MapRun(this, offset, length, HostMappingMode.Exact);

    /// <summary>File offset of guest byte <paramref name="offset"/>, or -1 when its block is not allocated.</summary>
    private long HostOffset(long offset)
    {
        var index = offset / _blockSize;
        var entry = index < _bat.Length ? Volatile.Read(ref _bat[index]) : Unallocated;
        return entry == Unallocated ? -1 : (entry * 512L) + _bitmapSize + (offset % _blockSize);
    }

    /// <summary>
    /// As QEMU does, a block's sector bitmap is set to all ones before the block is written, so other readers
    /// that honour the bitmap see every sector; it is rewritten whenever writes move to another block.
    /// </summary>
    void IBlockMap.BeforeWriteToAllocated(long offset)
    {
        lock (_allocation)
        {
            MarkBitmap(_bat[offset / _blockSize] * 512L);
        }
    }

    void IBlockMap.WriteToNewBlock(long offset, ReadOnlySpan<byte> data)
    {
        lock (_allocation)
        {
            var index = offset / _blockSize;
            if (index >= _bat.Length)
            {
                throw new InvalidImageException("Write past the end of the block allocation table");
            }

            if (_bat[index] == Unallocated)
            {
                AllocateBlock((int)index);
            }
            else
            {
                // Another writer allocated it meanwhile.
                MarkBitmap(_bat[index] * 512L);
            }
        }

        _file.Write(HostOffset(offset), data);
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

    /// <summary>Sets the bitmap at <paramref name="bitmapOffset"/> to all ones unless the last write already did. Under the lock.</summary>
    private void MarkBitmap(long bitmapOffset)
    {
        if (bitmapOffset != _lastBitmapOffset)
        {
            _lastBitmapOffset = bitmapOffset;
            WriteFullBitmap(bitmapOffset);
        }
    }

    private void WriteFullBitmap(long bitmapOffset)
    {
        var bitmap = new byte[_bitmapSize];
        bitmap.AsSpan().Fill(0xFF);
        _file.Write(bitmapOffset, bitmap);
        _file.Flush();
    }
}
