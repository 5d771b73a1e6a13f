using System.Buffers;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations.Io;

/// <summary>
/// Copy-on-read (qemu-io <c>-C</c>, <c>open -C</c>, the <c>copy-on-read</c> filter driver): before a read, the clusters
/// it touches that the image does not hold itself (read from its backing file, or unallocated) are written into the
/// image with the data the read returns; runs that read as zeroes are written as zeroes, as QEMU writes them.
/// </summary>
internal static class QemuIoCopyOnRead
{
    private const int ChunkSize = 1 << 20;

    /// <summary>
    /// Copies what <c>[offset, offset + count)</c> reads from below into the image; 0, or a negative errno. With a
    /// blkdebug node above the image (<paramref name="node"/>), each copy raises <c>cor_write</c> on it and is written
    /// through it, so its rules can fail the copy as QEMU's do.
    /// </summary>
    public static int Copy(IDiskImage image, long offset, long count, IO.Blkdebug.BlkdebugStorage? node = null)
    {
        if (count <= 0 || !QemuIoArguments.InRange(image.Length, offset, count))
        {
            return 0;
        }

        // Whole clusters, as QEMU rounds a copy-on-read request (clamped to the disk's end).
        var cluster = Math.Max(image is ICompressedClusterWriter clustered ? clustered.ClusterSize : 0, 512);
        var start = offset / cluster * cluster;
        var end = Math.Min(image.Length, (offset + count + cluster - 1) / cluster * cluster);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            foreach (var extent in image.GetExtents(start, end - start))
            {
                if (extent.Kind != ExtentKind.Unallocated)
                {
                    continue;
                }

                for (var done = 0L; done < extent.Length;)
                {
                    var length = (int)Math.Min(ChunkSize, extent.Length - done);
                    var chunk = buffer.AsSpan(0, length);
                    image.Read(extent.Offset + done, chunk);
                    node?.Event(IO.Blkdebug.BlkdebugEvent.CorWrite);
                    if (chunk.ContainsAnyExcept((byte)0))
                    {
                        if (node is not null)
                        {
                            node.Write(extent.Offset + done, chunk);
                        }
                        else
                        {
                            image.Write(extent.Offset + done, chunk);
                        }
                    }
                    else if (node is not null)
                    {
                        node.WriteZeroes(extent.Offset + done, length, mayUnmap: false);
                    }
                    else
                    {
                        image.WriteZeroes(extent.Offset + done, length, mayUnmap: false);
                    }

                    done += length;
                }
            }

            return 0;
        }
        catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
        {
            return QemuIoErrno.From(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
