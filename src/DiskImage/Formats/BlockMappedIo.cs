using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// The request loops every block-mapped format shares: a request is split at block boundaries, each piece goes
/// to its block's place in the file, or reads as zeroes where no block is allocated. Writes allocate through the
/// format; zeroes are written only into allocated blocks, because unallocated ones already read as zeroes (none
/// of these formats has a backing file in QEMU). One lookup and one file call per block piece, nothing allocated.
/// </summary>
internal static class BlockMappedIo
{
    public static void Read(IBlockMap map, long offset, Span<byte> buffer)
    {
        var blockSize = map.BlockSize;
        var file = map.BlockFile;
        while (!buffer.IsEmpty)
        {
            var n = (int)Math.Min(buffer.Length, blockSize - (offset % blockSize));
            var host = map.HostOffset(offset);
            if (host < 0)
            {
                buffer[..n].Clear();
            }
            else
            {
                file.Read(host, buffer[..n]);
            }

            offset += n;
            buffer = buffer[n..];
        }
    }

    public static void Write(IBlockMap map, long offset, ReadOnlySpan<byte> data)
    {
        var blockSize = map.BlockSize;
        var file = map.BlockFile;
        while (!data.IsEmpty)
        {
            var n = (int)Math.Min(data.Length, blockSize - (offset % blockSize));
            var host = map.HostOffset(offset);
            if (host >= 0)
            {
                map.BeforeWriteToAllocated(offset);
                file.Write(host, data[..n]);
            }
            else
            {
                map.WriteToNewBlock(offset, data[..n]);
            }

            offset += n;
            data = data[n..];
        }
    }

    /// <summary>Zeroes a range: allocated blocks get zero bytes, unallocated ones are left as they are.</summary>
    public static void WriteZeroes(IBlockMap map, long offset, long length)
    {
        var blockSize = map.BlockSize;
        var file = map.BlockFile;
        while (length > 0)
        {
            var n = Math.Min(length, blockSize - (offset % blockSize));
            var host = map.HostOffset(offset);
            if (host >= 0)
            {
                map.BeforeWriteToAllocated(offset);
                file.WriteZeroBytes(host, n);
            }

            offset += n;
            length -= n;
        }
    }

    /// <summary>
    /// The run at <paramref name="offset"/>: the rest of its block when allocated (described by
    /// <paramref name="allocatedMode"/>), else every following unallocated block, merged into one zero run.
    /// </summary>
    public static HostMapping MapRun(IBlockMap map, long offset, long length, HostMappingMode allocatedMode)
    {
        var blockSize = map.BlockSize;
        var n = Math.Min(length, blockSize - (offset % blockSize));
        var host = map.HostOffset(offset);
        if (host >= 0)
        {
            return new HostMapping(n, ExtentKind.Data, host, allocatedMode);
        }

        while (n < length && map.HostOffset(offset + n) < 0)
        {
            n = Math.Min(length, n + blockSize);
        }

        return new HostMapping(n, ExtentKind.Zero, null);
    }

    /// <summary>Data and zero extents of a range, by block allocation (adjacent runs of one kind merged).</summary>
    public static List<Extent> GetExtents(IBlockMap map, long offset, long length)
    {
        var extents = new List<Extent>();
        var end = offset + length;
        while (offset < end)
        {
            var run = MapRun(map, offset, end - offset, HostMappingMode.Exact);
            HostFile.Add(extents, new Extent(offset, run.Length, run.Kind));
            offset += run.Length;
        }

        return extents;
    }
}
