using System.Buffers;
using System.IO.Compression;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Compressed-cluster codecs: raw deflate ("zlib" in qemu-img's words, no zlib header) and bare zstd
/// frames. Decompression always produces exactly one cluster and never limits the deflate window.
/// </summary>
internal static class Qcow2Compression
{
    /// <summary>QEMU compresses with zlib's default level; 6 gives output of about the same size.</summary>
    private const int DeflateLevel = 6;

    /// <summary>QEMU's deflate window (2^12 bytes) and memory level for compressed clusters.</summary>
    private const int QemuWindowBits = 12;

    private const int QemuMemoryLevel = 9;

    /// <summary>QEMU uses zstd's default level.</summary>
    private const int ZstdLevel = 3;

    [ThreadStatic]
    private static Compressor? t_zstdCompressor;

    [ThreadStatic]
    private static Decompressor? t_zstdDecompressor;

    /// <summary>Inflates <paramref name="compressed"/> into all of <paramref name="cluster"/>; throws when it does not yield a whole cluster.</summary>
    public static void Decompress(Qcow2CompressionType type, byte[] compressed, int compressedLength, Span<byte> cluster, long hostOffset)
    {
        try
        {
            var ok = type == Qcow2CompressionType.Zstd
                ? DecompressZstd(compressed.AsSpan(0, compressedLength), cluster)
                : DecompressDeflate(compressed, compressedLength, cluster);
            if (!ok)
            {
                throw new InvalidImageException($"Could not decompress the cluster at host offset 0x{hostOffset:x}: data ends early", hostOffset);
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidImageException($"Could not decompress the cluster at host offset 0x{hostOffset:x}: {e.Message}", hostOffset);
        }
        catch (ZstdException e)
        {
            throw new InvalidImageException($"Could not decompress the cluster at host offset 0x{hostOffset:x}: {e.Message}", hostOffset);
        }
    }

    /// <summary>Compresses one cluster; false when the result would not fit in <c>cluster.Length - 1</c> bytes.</summary>
    public static bool TryCompress(Qcow2CompressionType type, ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        var limit = Math.Min(output.Length, cluster.Length - 1);
        if (type == Qcow2CompressionType.Zstd)
        {
            var compressor = t_zstdCompressor ??= new Compressor(ZstdLevel);
            return compressor.TryWrap(cluster, output[..limit], out written);
        }

        // QEMU's parameters (a 4 KiB window, memory level 9) through the zlib qemu-img uses, so the bytes are its bytes.
        if (SystemZlib.TryRawDeflate(cluster, output[..limit], QemuWindowBits, QemuMemoryLevel, out written) is { } native)
        {
            return native;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(cluster.Length + 1024);
        try
        {
            using var sink = new MemoryStream(buffer, 0, buffer.Length, writable: true);
            using (var deflate = new DeflateStream(sink, new ZLibCompressionOptions { CompressionLevel = DeflateLevel }, leaveOpen: true))
            {
                deflate.Write(cluster);
            }

            written = (int)sink.Position;
            if (written > limit)
            {
                written = 0;
                return false;
            }

            buffer.AsSpan(0, written).CopyTo(output);
            return true;
        }
        catch (NotSupportedException)
        {
            // The pooled buffer was too small: the data grew, so it is stored uncompressed.
            written = 0;
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool DecompressDeflate(byte[] compressed, int length, Span<byte> cluster)
    {
        if (NativeInflater.ForThisThread() is { } inflater)
        {
            return inflater.InflateWhole(compressed.AsSpan(0, length), cluster);
        }

        using var source = new MemoryStream(compressed, 0, length, writable: false);
        using var inflate = new DeflateStream(source, CompressionMode.Decompress);
        var done = 0;
        while (done < cluster.Length)
        {
            var n = inflate.Read(cluster[done..]);
            if (n == 0)
            {
                return false;
            }

            done += n;
        }

        return true;
    }

    private static unsafe bool DecompressZstd(ReadOnlySpan<byte> compressed, Span<byte> cluster)
    {
        var decompressor = t_zstdDecompressor ??= new Decompressor();
        var done = 0;
        var position = 0;
        // QEMU reads frames one after another until the cluster is full; trailing sector padding is ignored.
        while (done < cluster.Length)
        {
            var rest = compressed[position..];
            nuint frameLength;
            fixed (byte* source = rest)
            {
                frameLength = Methods.ZSTD_findFrameCompressedSize(source, (nuint)rest.Length);
            }

            if (Methods.ZSTD_isError(frameLength) || frameLength == 0)
            {
                return false;
            }

            if (!decompressor.TryUnwrap(rest[..(int)frameLength], cluster[done..], out var written) || written == 0)
            {
                return false;
            }

            done += written;
            position += (int)frameLength;
        }

        return true;
    }
}
