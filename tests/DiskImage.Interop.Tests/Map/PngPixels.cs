using System.Buffers.Binary;
using System.IO.Compression;

namespace DiskImage.Interop.Tests.Map;

/// <summary>Decodes the 8-bit RGB/RGBA, non-interlaced PNGs that headless Chromium writes, to count colours.</summary>
internal static class PngPixels
{
    public static (int Width, int Height, int Channels, byte[] Pixels) Decode(byte[] png)
    {
        var offset = 8;
        int width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        while (offset + 8 <= png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(8, data[8]);
                channels = data[9] switch { 2 => 3, 6 => 4, _ => throw new InvalidDataException($"colour type {data[9]}") };
                Assert.Equal(0, data[12]);
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            offset += 12 + length;
        }

        idat.Position = 0;
        using var inflate = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        inflate.CopyTo(raw);
        var bytes = raw.ToArray();
        var stride = width * channels;
        var pixels = new byte[height * stride];
        for (var y = 0; y < height; y++)
        {
            var filter = bytes[y * (stride + 1)];
            var line = bytes.AsSpan((y * (stride + 1)) + 1, stride);
            for (var x = 0; x < stride; x++)
            {
                int a = x >= channels ? pixels[(y * stride) + x - channels] : 0;
                int b = y > 0 ? pixels[((y - 1) * stride) + x] : 0;
                int c = x >= channels && y > 0 ? pixels[((y - 1) * stride) + x - channels] : 0;
                var predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                };
                pixels[(y * stride) + x] = (byte)(line[x] + predictor);
            }
        }

        return (width, height, channels, pixels);
    }

    /// <summary>Pixels of exactly colour <paramref name="rgb"/> (0xRRGGBB).</summary>
    public static int Count(byte[] png, int rgb)
    {
        var (width, height, channels, pixels) = Decode(png);
        var count = 0;
        for (var i = 0; i < width * height; i++)
        {
            var p = i * channels;
            if (pixels[p] == (byte)(rgb >> 16) && pixels[p + 1] == (byte)(rgb >> 8) && pixels[p + 2] == (byte)rgb)
            {
                count++;
            }
        }

        return count;
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
