using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vdi;

public sealed partial class VdiImage
{
    private const int BlockSize = VdiHeader.BlockSize;

    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        while (!buffer.IsEmpty)
        {
            var n = (int)Math.Min(buffer.Length, BlockSize - (offset % BlockSize));
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
        while (!data.IsEmpty)
        {
            var n = (int)Math.Min(data.Length, BlockSize - (offset % BlockSize));
            var host = HostOffset(offset);
            if (host >= 0)
            {
                _file.Write(host, data[..n]);
            }
            else
            {
                AllocateAndWrite(offset, data[..n]);
            }

            offset += n;
            data = data[n..];
        }
    }

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);

        // Unallocated blocks read as zeroes already; allocated ones get zero bytes.
        while (length > 0)
        {
            var n = Math.Min(length, BlockSize - (offset % BlockSize));
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
            HostFile.Add(extents, new Extent(offset, run.Length, run.Kind));
            offset += run.Length;
        }

        return extents;
    }

    HostMapping IHostMappedImage.MapRun(long offset, long length) => MapRun(offset, length);

    private HostMapping MapRun(long offset, long length)
    {
        var n = Math.Min(length, BlockSize - (offset % BlockSize));
        var host = HostOffset(offset);
        if (host >= 0)
        {
            // A static image's blocks may be holes in the file; QEMU asks the file for those (BDRV_BLOCK_RECURSE).
            var mode = _header.ImageType == VdiHeader.TypeStatic ? HostMappingMode.FileZeroes : HostMappingMode.Exact;
            return new HostMapping(n, ExtentKind.Data, host, mode);
        }

        while (n < length && HostOffset(offset + n) < 0)
        {
            n = Math.Min(length, n + BlockSize);
        }

        return new HostMapping(n, ExtentKind.Zero, null);
    }

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
