using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Formats.Cloop;
using DiskImage.IO;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Cloop;

/// <summary>The cloop header and table checks and reads on images of the test writer; qemu-img judges the same files in the interop tests.</summary>
public class CloopUnitTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(4608)]
    [InlineData(65536)]
    public void Reads_give_the_written_content_at_any_offset(int blockSize)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.cloop");
        var content = CloopTestImage.Pattern(23 * blockSize, blockSize);
        File.WriteAllBytes(path, CloopTestImage.Create(content, blockSize));
        using var image = ImageFormatRegistry.Default.Open(path, null);
        Assert.IsType<CloopImage>(image);
        Assert.Equal(content.Length, image.Length);
        var whole = new byte[content.Length];
        image.Read(0, whole);
        Assert.Equal(content, whole);
        var random = new Random(5);
        for (var i = 0; i < 50; i++)
        {
            var offset = random.Next(content.Length - 1);
            var part = new byte[random.Next(1, Math.Min(3 * blockSize, content.Length - offset))];
            image.Read(offset, part);
            Assert.True(content.AsSpan(offset, part.Length).SequenceEqual(part), $"read {part.Length} at {offset}");
        }

        Assert.Equal([new Extent(0, content.Length, ExtentKind.Data)], image.GetExtents(0, content.Length));
        Assert.Throws<InvalidOperationException>(() => image.Write(0, new byte[512]));
    }

    [Theory]
    [InlineData(CloopTestImage.BlockSizeOffset, 0x201u, "block_size 513 must be a multiple of 512")]
    [InlineData(CloopTestImage.BlockSizeOffset, 0u, "block_size cannot be zero")]
    [InlineData(CloopTestImage.BlockSizeOffset, 0xfffffe00u, "block_size 4294966784 must be 64 MB or less")]
    [InlineData(CloopTestImage.BlockCountOffset, 0xffffffffu, "n_blocks 4294967295 must be 536870911 or less")]
    [InlineData(CloopTestImage.BlockCountOffset, 0x1fffffffu, "Could not allocate offsets table")]
    [InlineData(CloopTestImage.BlockCountOffset, 0x04000001u, "image requires too many offsets, try increasing block size")]
    [InlineData(CloopTestImage.OffsetsOffset + 4, 0xffffffffu, "offsets not monotonically increasing at index 1, image file is corrupt")]
    [InlineData(CloopTestImage.OffsetsOffset + 8, 1u, "invalid compressed block size at index 1, image file is corrupt")]
    public void Bad_headers_are_refused_in_qemus_words(int offset, uint value, string message)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.cloop");
        var bytes = CloopTestImage.Create(CloopTestImage.Pattern(64 * 1024, 1), 8192);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), value);
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsAny<DiskImageException>(() => ImageFormatRegistry.Default.Open(path, "cloop").Dispose());
        Assert.EndsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_table_in_a_small_file_is_checked_without_allocating_it()
    {
        using var dir = new TempDirectory();
        var path = dir.File("huge.cloop");
        var bytes = CloopTestImage.Create(new byte[512], 512);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(CloopTestImage.BlockCountOffset), 0x03ffffff);
        // All offsets zero: the table reads as zeroes past the file, which QEMU accepts; each block then fails to inflate.
        bytes.AsSpan(CloopTestImage.OffsetsOffset).Clear();
        File.WriteAllBytes(path, bytes);
        var before = GC.GetAllocatedBytesForCurrentThread();
        using var image = ImageFormatRegistry.Default.Open(path, "cloop");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16L << 20);
        Assert.Equal(0x03ffffffL * 512, image.Length);
        var e = Assert.ThrowsAny<DiskImageException>(() => image.Read(image.Length - 512, new byte[512]));
        Assert.Equal("Input/output error", e.Message);
    }

    [Fact]
    public void The_probe_wants_the_whole_preamble_and_scores_low()
    {
        var bytes = CloopTestImage.Create(new byte[512], 512);
        Assert.Equal(2, CloopFormat.Instance.Probe(bytes, bytes.Length));
        Assert.Equal(0, CloopFormat.Instance.Probe(bytes.AsSpan(0, 10), 10));
        bytes[20] ^= 1;
        Assert.Equal(0, CloopFormat.Instance.Probe(bytes, bytes.Length));
    }

    [Fact]
    public void Random_mutations_fail_cleanly()
    {
        using var dir = new TempDirectory();
        var path = dir.File("mutant.cloop");
        var original = CloopTestImage.Create(CloopTestImage.Pattern(64 * 1024, 9), 8192);
        var random = new Random(75);
        uint[] extremes = [0, 1, 0x200, 0x7fffffff, 0x80000000, 0xffffffff, 0x04000000, 0x08000000, 0x1fffffff];
        for (var i = 0; i < 300; i++)
        {
            var bytes = (byte[])original.Clone();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                // The sizes, the offsets table, sometimes the compressed data.
                var at = random.Next(3) switch { 0 => 128 + random.Next(8), 1 => 136 + random.Next(72), _ => random.Next(bytes.Length - 4) };
                if (random.Next(2) == 0)
                {
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }
                else
                {
                    BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), extremes[random.Next(extremes.Length)]);
                }
            }

            File.WriteAllBytes(path, bytes);
            MutantReader.ReadAll(path, "cloop");
        }
    }
}
