using System.Buffers.Binary;
using System.IO.Compression;

namespace DiskImage.Tests.Formats.Cloop;

/// <summary>
/// Writes cloop V2.0 images for the tests (the variants <c>create_compressed_fs</c> cannot make): the preamble, the
/// block size and count, the offsets table and each block as a zlib stream. The content is padded with zeroes to
/// whole blocks.
/// </summary>
internal static class CloopTestImage
{
    public const int BlockSizeOffset = 128;
    public const int BlockCountOffset = 132;
    public const int OffsetsOffset = 136;

    public static byte[] Create(ReadOnlySpan<byte> content, int blockSize = 65536)
    {
        var blocks = (content.Length + blockSize - 1) / blockSize;
        using var image = new MemoryStream();
        var head = new byte[OffsetsOffset + (8 * (blocks + 1))];
        "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\nexit $?\n"u8.CopyTo(head);
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(BlockSizeOffset), (uint)blockSize);
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(BlockCountOffset), (uint)blocks);
        image.Write(head);
        var block = new byte[blockSize];
        for (var b = 0; b <= blocks; b++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(head.AsSpan(OffsetsOffset + (8 * b)), (ulong)image.Length);
            if (b == blocks)
            {
                break;
            }

            Array.Clear(block);
            var start = b * blockSize;
            content[start..Math.Min(content.Length, start + blockSize)].CopyTo(block);
            using var zlib = new ZLibStream(image, CompressionLevel.Optimal, leaveOpen: true);
            zlib.Write(block);
        }

        var bytes = image.ToArray();
        head.AsSpan(OffsetsOffset).CopyTo(bytes.AsSpan(OffsetsOffset));
        return bytes;
    }

    /// <summary>A guest disk with random, repeated and zero stretches, so blocks compress well and badly.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        var random = new Random(seed);
        for (var i = 0; i < length; i += 4096)
        {
            var n = Math.Min(4096, length - i);
            switch ((i / 4096) % 5)
            {
                case 0: random.NextBytes(data.AsSpan(i, n)); break;
                case 1: data.AsSpan(i, n).Fill((byte)(i >> 12)); break;
                case 3: data[i + (n / 2)] = 0x42; break;
            }
        }

        return data;
    }
}
