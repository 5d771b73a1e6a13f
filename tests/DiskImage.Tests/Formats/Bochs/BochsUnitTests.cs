using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Formats.Bochs;
using DiskImage.IO;
using DiskImage.Tests.Formats.Cloop;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Bochs;

/// <summary>The Bochs header checks and reads on images of the test writer; qemu-img judges the same files in the interop tests.</summary>
public class BochsUnitTests
{
    [Theory]
    [InlineData(1, 4096, false)]
    [InlineData(2, 32768, true)]
    [InlineData(2, 512, false)]
    public void Reads_give_the_written_content_at_any_offset(int version, int extentSize, bool markZeroSectors)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.bochs");
        var content = CloopTestImage.Pattern(200 * 1024, version + extentSize);
        content.AsSpan(40 * 1024, 40 * 1024).Clear();
        File.WriteAllBytes(path, BochsTestImage.Create(content, version, extentSize, markZeroSectors));
        using var image = ImageFormatRegistry.Default.Open(path, null);
        Assert.IsType<BochsImage>(image);
        Assert.Equal(content.Length, image.Length);
        Assert.False(image.CanWrite);
        var whole = new byte[content.Length];
        image.Read(0, whole);
        Assert.Equal(content, whole);
        var random = new Random(5);
        for (var i = 0; i < 50; i++)
        {
            var offset = random.Next(content.Length - 1);
            var part = new byte[random.Next(1, Math.Min(70000, content.Length - offset))];
            image.Read(offset, part);
            Assert.True(content.AsSpan(offset, part.Length).SequenceEqual(part), $"read {part.Length} at {offset}");
        }

        Assert.Equal([new Extent(0, content.Length, ExtentKind.Data)], image.GetExtents(0, content.Length));
        Assert.Throws<InvalidOperationException>(() => image.Write(0, new byte[512]));
    }

    [Theory]
    [InlineData(BochsTestImage.CatalogOffset, 0x100001u, "Catalog size is too large")]
    [InlineData(BochsTestImage.ExtentSizeOffset, 0u, "Extent size must be at least 512")]
    [InlineData(BochsTestImage.ExtentSizeOffset, 0x3000u, "Extent size 12288 is not a power of two")]
    [InlineData(BochsTestImage.ExtentSizeOffset, 0x1000000u, "Extent size 16777216 is too large")]
    [InlineData(BochsTestImage.CatalogOffset, 3u, "Catalog size is too small for this disk size")]
    [InlineData(64, 3u, "Image not in Bochs format")]
    public void Bad_headers_are_refused_in_qemus_words(int offset, uint value, string message)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.bochs");
        var bytes = BochsTestImage.Create(CloopTestImage.Pattern(64 * 1024, 1), extentSize: 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsAny<DiskImageException>(() => ImageFormatRegistry.Default.Open(path, "bochs").Dispose());
        Assert.EndsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_probe_wants_all_three_names_with_their_nul_and_version_1_or_2()
    {
        var header = BochsTestImage.Create(new byte[4096]).AsSpan(0, BochsHeader.Size).ToArray();
        Assert.Equal(100, BochsFormat.Instance.Probe(header, header.Length));
        Assert.Equal(0, BochsFormat.Instance.Probe(header.AsSpan(0, 511), 511));
        var noNul = (byte[])header.Clone();
        noNul[48 + 7] = (byte)'X';
        Assert.Equal(0, BochsFormat.Instance.Probe(noNul, noNul.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(64), 0x00030000);
        Assert.Equal(0, BochsFormat.Instance.Probe(header, header.Length));
    }

    [Fact]
    public void Opening_for_writing_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.bochs");
        File.WriteAllBytes(path, BochsTestImage.Create(new byte[8192]));
        var e = Assert.ThrowsAny<DiskImageException>(() => ImageFormatRegistry.Default.Open(path, "bochs", new ImageOpenOptions { ReadOnly = false }).Dispose());
        Assert.EndsWith("Image is read-only", e.Message, StringComparison.Ordinal);
        Assert.False(BochsFormat.Instance.CanCreate);
    }

    [Fact]
    public void Random_mutations_fail_cleanly()
    {
        using var dir = new TempDirectory();
        var path = dir.File("mutant.bochs");
        var original = BochsTestImage.Create(CloopTestImage.Pattern(64 * 1024, 9), extentSize: 4096);
        var random = new Random(78);
        uint[] extremes = [0, 1, 0x1ff, 0x200, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000, 0x800000];
        for (var i = 0; i < 300; i++)
        {
            var bytes = (byte[])original.Clone();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                // The header's numbers and the catalog, sometimes a bitmap.
                var at = random.Next(3) switch { 0 => 64 + random.Next(32), 1 => 512 + random.Next(64), _ => random.Next(bytes.Length - 4) };
                if (random.Next(2) == 0)
                {
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }
                else
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), extremes[random.Next(extremes.Length)]);
                }
            }

            File.WriteAllBytes(path, bytes);
            MutantReader.ReadAll(path, "bochs");
        }
    }
}
