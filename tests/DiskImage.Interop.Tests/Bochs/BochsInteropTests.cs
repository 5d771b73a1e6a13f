using System.Buffers.Binary;
using DiskImage.Interop.Tests.Cloop;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Migration;
using DiskImage.Tests.Formats.Bochs;
using DiskImage.Tests.Formats.Cloop;

namespace DiskImage.Interop.Tests.Bochs;

/// <summary>Bochs growing images (versions 1 and 2, made by our test writer) read by qemu-img and qemu-io and by us.</summary>
public class BochsInteropTests
{
    [Theory]
    [InlineData(1, 32768, false)]
    [InlineData(2, 4096, true)]
    public void Images_read_as_in_qemu(int version, int extentSize, bool markZeroSectors)
    {
        using var dir = new TempDirectory();
        var image = dir.File("image.bochs");
        var content = CloopTestImage.Pattern(300 * 1024, version);
        content.AsSpan(100 * 1024, 60 * 1024).Clear(); // whole unallocated extents
        File.WriteAllBytes(image, BochsTestImage.Create(content, version, extentSize, markZeroSectors));
        ReadOnlyFormatInterop.AssertReadsAsQemu(dir, image, "bochs", content);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "bochs", "-c", "read -P 0x01 4k 4k", "-c", "read -P 0 100k 60k", "-c", "read -v 12k 1k", image);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "bochs", "-c", "read -P 0x07 4k 4k", image);
    }

    [Fact]
    public void Writes_are_refused_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var image = dir.File("image.bochs");
        File.WriteAllBytes(image, BochsTestImage.Create(CloopTestImage.Pattern(64 * 1024, 1)));
        ReadOnlyFormatInterop.AssertWritesRefused(dir, image, "bochs");
    }

    [Theory]
    [InlineData(0, 0x41u)] // magic
    [InlineData(54, 0x41u)] // the subtype's NUL
    [InlineData(64, 0x00030000u)] // version
    [InlineData(BochsTestImage.CatalogOffset, 0xffffffffu)]
    [InlineData(BochsTestImage.CatalogOffset, 0x40000000u)]
    [InlineData(BochsTestImage.CatalogOffset, 0x100001u)]
    [InlineData(BochsTestImage.CatalogOffset, 1u)]
    [InlineData(BochsTestImage.ExtentSizeOffset, 0u)]
    [InlineData(BochsTestImage.ExtentSizeOffset, 0x80000000u)]
    [InlineData(BochsTestImage.ExtentSizeOffset, 0x1000000u)]
    [InlineData(BochsTestImage.ExtentSizeOffset, 0x3000u)]
    [InlineData(BochsTestImage.ExtentSizeOffset, 256u)]
    public void Hostile_headers_fail_as_in_qemu(int offset, uint value)
    {
        using var dir = new TempDirectory();
        var image = dir.File("hostile.bochs");
        File.WriteAllBytes(image, BochsTestImage.Create(CloopTestImage.Pattern(64 * 1024, 1), extentSize: 4096));
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        MigrationInterop.Patch(image, offset, offset == 0 || offset == 54 ? bytes[..1] : bytes);
        MigrationInterop.AssertSameOpenFailure(image, "bochs");
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "bochs", "-c", "read 0 512", image);
    }

    [Theory]
    [InlineData(512 + 4, 0x7fffffffu)] // a catalog entry far past the end of the file: zeroes
    [InlineData(512 + 8, 0xfffffffeu)] // one whose data lies past the largest file offset
    [InlineData(BochsTestImage.BitmapSizeOffset, 0u)] // a zero bitmap size wraps to huge bitmaps
    [InlineData(68, 0x7fff0000u)] // a catalog far past the end of the file reads as zeroes: every extent is slot 0
    public void Odd_tables_read_as_in_qemu(int offset, uint value)
    {
        using var dir = new TempDirectory();
        var image = dir.File("odd.bochs");
        File.WriteAllBytes(image, BochsTestImage.Create(CloopTestImage.Pattern(64 * 1024, 1), extentSize: 4096));
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        MigrationInterop.Patch(image, offset, bytes);
        ReadOnlyFormatInterop.AssertSame("info", image);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "bochs", "-c", "read -v 4k 512", "-c", "read -v 8k 512", "-c", "read 0 64k", image);
        ReadOnlyFormatInterop.AssertSame("convert", "-O", "raw", image, dir.File("out.raw"));
    }
}
