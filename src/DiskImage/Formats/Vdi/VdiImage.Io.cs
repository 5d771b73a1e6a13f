using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vdi;

public sealed partial class VdiImage
{
    private const int BlockSize = VdiHeader.BlockSize;

    long IBlockMap.BlockSize => BlockSize;

    bool IBlockMap.NewBlocksAreSparse => false;

    IStorage IBlockMap.BlockFile => _file;

    long IBlockMap.HostOffset(long offset) => HostOffset(offset);

    void IBlockMap.BeforeWriteToAllocated(long offset)
    {
    }

    void IBlockMap.WriteToNewBlock(long offset, ReadOnlySpan<byte> data) => AllocateAndWrite(offset, data);

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        BlockMappedIo.Read(this, offset, buffer);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        BlockMappedIo.Write(this, offset, data);
    }

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
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
        return BlockMappedIo.GetExtents(this, offset, length);
    }

    /// <summary>A static image's blocks may be holes in the file; QEMU asks the file for those (BDRV_BLOCK_RECURSE).</summary>
    HostMapping IHostMappedImage.MapRun(long offset, long length) =>
        BlockMappedIo.MapRun(this, offset, length, _header.ImageType == VdiHeader.TypeStatic ? HostMappingMode.FileZeroes : HostMappingMode.Exact);

    private long HostOffset(long offset)
    {
        var entry = Volatile.Read(ref _bmap[offset / BlockSize]);
        return IsAllocated(entry) ? _header.OffsetData + ((long)entry * BlockSize) + (offset % BlockSize) : -1;
    }

    /// <summary>
    /// A first write to a block: the whole block is written (zeroes around the data, as QEMU does), then the
    /// header's allocated count, then the block map entry, so a crash leaves at worst an unreferenced block.
    /// </summary>
    private void AllocateAndWrite(long offset, ReadOnlySpan<byte> data)
    {
        lock (_allocation)
        {
            var index = offset / BlockSize;
            var host = HostOffset(offset);
            if (host >= 0)
            {
                _file.Write(host, data);
                return;
            }

            var entry = _blocksAllocated;
            if (entry >= FirstUnallocated)
            {
                throw new InvalidImageException("The VDI image has no room for another block");
            }

            var block = new byte[BlockSize];
            data.CopyTo(block.AsSpan((int)(offset % BlockSize)));
            _file.Write(_header.OffsetData + ((long)entry * BlockSize), block);
            _blocksAllocated = entry + 1;
            // Only the count changes; every other header byte (a VirtualBox description, geometry) is kept.
            BinaryPrimitives.WriteUInt32LittleEndian(_headerBytes.AsSpan(VdiHeader.BlocksAllocatedOffset), _blocksAllocated);
            _file.Write(0, _headerBytes);
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, entry);
            _file.Write(_header.OffsetBmap + (index * 4), bytes);
            Volatile.Write(ref _bmap[index], entry);
        }
    }
}
