using System.Buffers.Binary;
using System.IO.Compression;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// Compressed grains of stream-optimized extents: zlib streams (with header and checksum), each led by a
/// 12-byte marker (LBA, size) and padded to a sector. Stateless, so workers decompress in parallel.
/// </summary>
internal static class VmdkGrainCodec
{
    /// <summary>zlib's default level, which QEMU's compress() uses.</summary>
    private const int Level = 6;

    /// <summary>Inflates <paramref name="compressed"/> into <paramref name="grain"/>; returns the bytes produced.</summary>
    public static int Decompress(ReadOnlySpan<byte> compressed, Span<byte> grain, long hostOffset)
    {
        try
        {
            unsafe
            {
                fixed (byte* source = compressed)
                {
                    using var input = new UnmanagedMemoryStream(source, compressed.Length);
                    using var inflate = new ZLibStream(input, CompressionMode.Decompress);
                    var done = 0;
                    while (done < grain.Length)
                    {
                        var n = inflate.Read(grain[done..]);
                        if (n == 0)
                        {
                            break;
                        }

                        done += n;
                    }

                    return done;
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidImageException($"Could not decompress the grain at host offset 0x{hostOffset:x}: {e.Message}", hostOffset);
        }
    }

    /// <summary>
    /// Writes a marker for <paramref name="lba"/> and the compressed grain into <paramref name="output"/>,
    /// padded with zeroes to whole sectors; returns the padded length.
    /// </summary>
    public static int CompressWithMarker(ReadOnlySpan<byte> grain, long lba, byte[] output)
    {
        // The zlib qemu-img uses makes qemu-img's bytes; the runtime's deflate is the fallback.
        var body = output.AsSpan(VmdkConstants.GrainMarkerHeaderSize);
        if (SystemZlib.TryCompress(grain, body, out var size) is not true)
        {
            using var sink = new MemoryStream(output, VmdkConstants.GrainMarkerHeaderSize, output.Length - VmdkConstants.GrainMarkerHeaderSize, writable: true);
            using (var deflate = new ZLibStream(sink, new ZLibCompressionOptions { CompressionLevel = Level }, leaveOpen: true))
            {
                deflate.Write(grain);
            }

            size = (int)sink.Position;
        }

        BinaryPrimitives.WriteInt64LittleEndian(output, lba);
        BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(8), size);
        var total = VmdkConstants.GrainMarkerHeaderSize + size;
        var padded = (total + VmdkConstants.SectorSize - 1) / VmdkConstants.SectorSize * VmdkConstants.SectorSize;
        output.AsSpan(total, padded - total).Clear();
        return padded;
    }

    /// <summary>Room <see cref="CompressWithMarker"/> needs for one grain, whatever the data.</summary>
    public static int MaxMarkedSize(int grainSize) => grainSize + grainSize / 8 + 1024;
}
