using DiskImage.Formats;
using DiskImage.Formats.Vdi;
using DiskImage.Formats.Vhdx;
using DiskImage.Formats.Vpc;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Migration;

/// <summary>VHD, VDI and VHDX pieces that need no external tool: checksums, geometry, round trips, hostile headers.</summary>
public class MigrationFormatUnitTests
{
    [Fact]
    public void Crc32c_matches_the_published_check_value()
    {
        // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
        Assert.Equal(0xE3069283u, VhdxCrc32C.Of("123456789"u8));
        var bytes = "1234\0\0\0\0" + "56789";
        Assert.Equal(VhdxCrc32C.Of(System.Text.Encoding.ASCII.GetBytes(bytes)), VhdxCrc32C.Compute(System.Text.Encoding.ASCII.GetBytes("1234ABCD56789"), 4));
    }

    [Theory]
    [InlineData(204800L, 1003, 12, 17)] // 100 MiB rounds down; the search below then finds 1004 cylinders
    [InlineData(1L, 0, 4, 17)]
    public void Vhd_geometry_follows_the_specification(long sectors, int cylinders, int heads, int sectorsPerTrack) =>
        Assert.Equal(new VpcGeometry((ushort)cylinders, (byte)heads, (byte)sectorsPerTrack), VpcGeometry.For(sectors));

    [Fact]
    public void Vhd_geometry_search_covers_the_request() =>
        Assert.Equal(new VpcGeometry(1004, 12, 17), VpcGeometry.Covering(204800)); // qemu-img's 104865792-byte disk

    [Theory]
    [InlineData(100L << 20, false, 104865792L)]
    [InlineData(1000L, true, 1024L)]
    [InlineData(130L << 30, false, 130L << 30)]
    [InlineData(2040L << 30, false, 2040L << 30)]
    public void Vhd_sizes_round_as_in_qemu_img(long requested, bool forceSize, long expected) =>
        Assert.Equal(expected, VpcCreator.Dimensions(requested, forceSize).Size);

    [Fact]
    public void Vhd_beyond_2040_GiB_is_refused() =>
        Assert.Throws<InvalidOptionException>(() => VpcCreator.Dimensions(2041L << 30, forceSize: true));

    [Theory]
    [InlineData("dynamic")]
    [InlineData("fixed")]
    public void Vhd_written_data_reads_back(string subformat)
    {
        using var dir = new TempDirectory();
        var path = dir.File("d.vhd");
        VpcFormat.Instance.Create(path, VpcFormat.Instance.ParseCreateOptions(9 << 20, new Dictionary<string, string> { ["subformat"] = subformat }));
        var data = new byte[3 << 20];
        new Random(5).NextBytes(data);
        using (var image = ImageFormatRegistry.Default.Open(path, "vpc", new ImageOpenOptions { ReadOnly = false }))
        {
            image.Write(1 << 20, data);
        }

        using var reopened = ImageFormatRegistry.Default.Open(path, "vpc");
        var back = new byte[data.Length];
        reopened.Read(1 << 20, back);
        Assert.Equal(data, back);
        var head = new byte[1 << 20];
        reopened.Read(0, head);
        Assert.All(head, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Vdi_written_data_reads_back_and_checks_clean(bool isStatic)
    {
        using var dir = new TempDirectory();
        var path = dir.File("d.vdi");
        VdiFormat.Instance.Create(path, new VdiCreateOptions { Size = 5 << 20, Static = isStatic });
        var data = new byte[1536 << 10];
        new Random(7).NextBytes(data);
        using (var image = ImageFormatRegistry.Default.Open(path, null, new ImageOpenOptions { ReadOnly = false }))
        {
            Assert.Equal("vdi", image.Format.Name);
            image.Write(700 << 10, data);
        }

        using var reopened = ImageFormatRegistry.Default.Open(path, null);
        var back = new byte[data.Length];
        reopened.Read(700 << 10, back);
        Assert.Equal(data, back);
        Assert.Equal(0, DiskImage.Operations.Check.ImageChecker.Check(reopened, DiskImage.Operations.Check.CheckRepair.None).ExitCode);
    }

    [Fact]
    public void Vdi_block_map_claimed_past_the_file_is_refused_without_allocating_it()
    {
        using var dir = new TempDirectory();
        var path = dir.File("d.vdi");
        VdiFormat.Instance.Create(path, new VdiCreateOptions { Size = 5 << 20 });
        using (var file = File.OpenWrite(path))
        {
            // 500 million blocks (a 2 GB block map) in a 1 KiB file, disk size to match.
            file.Position = 0x170;
            file.Write(BitConverter.GetBytes(500_000_000L << 20));
            file.Position = 0x180;
            file.Write(BitConverter.GetBytes(500_000_000u));
        }

        var e = Assert.Throws<InvalidImageException>(() => ImageFormatRegistry.Default.Open(path, null));
        Assert.Contains("block map past the end", e.Message, StringComparison.Ordinal);
    }
}
