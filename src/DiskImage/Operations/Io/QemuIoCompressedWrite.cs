using System.Buffers;
using System.Diagnostics;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations.Io;

/// <summary>
/// <c>write -c</c>: whole clusters, each stored compressed (or plain when it does not shrink), as qcow2's
/// compressed write does: the offset must be cluster-aligned, the length whole clusters unless it ends the
/// image, and no cluster may already hold data.
/// </summary>
internal static class QemuIoCompressedWrite
{
    public static int Write(IDiskImage image, long offset, long count, Action<long, Span<byte>> fill, out TimeSpan elapsed)
    {
        var clock = Stopwatch.StartNew();
        var result = QemuIoTransfer.Run(image, offset, count, () => WriteClusters(image, offset, count, fill));
        elapsed = clock.Elapsed;
        return result;
    }

    /// <summary>
    /// A write through the <c>compress</c> filter: the range widened to whole clusters (the bytes around it read first, as
    /// QEMU's block layer pads a request to the filter's cluster alignment), every cluster then written compressed.
    /// </summary>
    public static int WriteThroughFilter(IDiskImage image, long offset, long count, Action<long, Span<byte>> fill, out TimeSpan elapsed)
    {
        var clock = Stopwatch.StartNew();
        var result = QemuIoTransfer.Run(image, offset, count, () =>
        {
            var clusterSize = image is ICompressedClusterWriter writer ? writer.ClusterSize
                : throw new UnsupportedFeatureException("Compressed writes are not supported by this format");
            var start = offset / clusterSize * clusterSize;
            var end = Math.Min(image.Length, (offset + count + clusterSize - 1) / clusterSize * clusterSize);
            WriteClusters(image, start, end - start, (position, span) =>
            {
                // Around the request the cluster keeps what it held; inside, the request's bytes.
                var at = start + position;
                image.Read(at, span);
                var from = Math.Max(at, offset);
                var to = Math.Min(at + span.Length, offset + count);
                if (from < to)
                {
                    fill(from - offset, span[(int)(from - at)..(int)(to - at)]);
                }
            });
        });
        elapsed = clock.Elapsed;
        return result;
    }

    private static void WriteClusters(IDiskImage image, long offset, long count, Action<long, Span<byte>> fill)
    {
        if (image is not ICompressedClusterWriter writer)
        {
            // The request still reached the node, which counts it among its changes (blklogwrites logs a later flush).
            ((image as Formats.Raw.RawImage)?.File as Formats.Filters.LogWrites.LogWritesStorage)?.CountFailedWrite();
            throw new UnsupportedFeatureException("Compressed writes are not supported by this format");
        }

        var clusterSize = writer.ClusterSize;
        if (offset % clusterSize != 0 || (count % clusterSize != 0 && offset + count != image.Length))
        {
            throw new ArgumentException("Compressed writes cover whole clusters");
        }

        if (image.GetExtents(offset, count).Any(e => e.Kind == ExtentKind.Data))
        {
            // qcow2 never overwrites an allocated cluster with a compressed one.
            throw new IOException("Compression can't overwrite anything");
        }

        var cluster = ArrayPool<byte>.Shared.Rent(clusterSize);
        var packed = ArrayPool<byte>.Shared.Rent(clusterSize);
        try
        {
            for (long done = 0; done < count; done += clusterSize)
            {
                var length = (int)Math.Min(clusterSize, count - done);
                var data = cluster.AsSpan(0, clusterSize);
                data.Clear();
                fill(done, data[..length]);
                if (writer.TryCompressCluster(data, packed, out var written))
                {
                    writer.WriteCompressedCluster(offset + done, packed.AsSpan(0, written));
                }
                else
                {
                    image.Write(offset + done, data[..length]);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cluster);
            ArrayPool<byte>.Shared.Return(packed);
        }
    }
}
