using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Formats.Vmdk;
using DiskImage.IO;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Vmdk;

/// <summary>Layouts qemu-img cannot make (seSparse, a stream with its footer at the end) and descriptor scanning.</summary>
public class VmdkReaderTests
{
    [Fact]
    public void A_crafted_sesparse_extent_reads_its_grains_zero_grains_and_holes()
    {
        using var dir = new TempDirectory();
        var extent = new byte[(75 + 8) * 512];
        void Word(int sector, int index, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(extent.AsSpan(sector * 512 + index * 8), value);
        Word(0, 0, 0xcafebabe);
        Word(0, 1, 0x0000000200000001);
        Word(0, 2, 2048);
        Word(0, 3, 8);
        Word(0, 4, 64);
        Word(0, 10, 1);
        Word(0, 16, 2);
        Word(0, 17, 1);
        Word(0, 18, 3);
        Word(0, 24, 67);
        Word(1, 0, 0xcafecafe);
        Word(2, 0, 0x1000000000000000);
        Word(3, 0, 0x3000000000000000);
        Word(3, 1, 0x2000000000000000);
        Word(3, 2, 0x3001000000000000);
        extent.AsSpan(67 * 512, 4096).Fill(0xab);
        extent.AsSpan(75 * 512, 4096).Fill(0xcd);
        File.WriteAllBytes(dir.File("se-sesparse.vmdk"), extent);
        File.WriteAllText(dir.File("se.vmdk"), "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"seSparse\"\nRW 2048 SESPARSE \"se-sesparse.vmdk\"\n");

        using (var image = ImageFormatRegistry.Default.Open(dir.File("se.vmdk"), null))
        {
            Assert.Equal("vmdk", image.Format.Name);
            Assert.Equal(1 << 20, image.Length);
            var data = new byte[16384];
            image.Read(0, data);
            Assert.All(data.AsSpan(0, 4096).ToArray(), b => Assert.Equal(0xab, b));
            Assert.All(data.AsSpan(4096, 4096).ToArray(), b => Assert.Equal(0, b));
            Assert.All(data.AsSpan(8192, 4096).ToArray(), b => Assert.Equal(0xcd, b));
            Assert.Equal(
                [new Extent(0, 4096, ExtentKind.Data), new Extent(4096, 4096, ExtentKind.Zero), new Extent(8192, 4096, ExtentKind.Data), new Extent(12288, (1 << 20) - 12288, ExtentKind.Unallocated)],
                image.GetExtents(0, image.Length));
        }

        // Opened again once the reader above has let go of its image lock.
        Assert.Throws<UnsupportedFeatureException>(() => ImageFormatRegistry.Default.Open(dir.File("se.vmdk"), "vmdk", new ImageOpenOptions { ReadOnly = false }));
    }

    [Fact]
    public void A_stream_whose_header_defers_to_the_footer_is_read_through_the_footer()
    {
        using var dir = new TempDirectory();
        var path = dir.File("stream.vmdk");
        VmdkFormat.Instance.Create(path, new VmdkCreateOptions { Size = 1 << 20, Subformat = VmdkSubformat.StreamOptimized });
        var grain = new byte[65536];
        new Random(5).NextBytes(grain);
        using (var image = ImageFormatRegistry.Default.Open(path, "vmdk", new ImageOpenOptions { ReadOnly = false }))
        {
            image.Write(65536, grain);
        }

        // Move the real header to a footer (marker, header sector, end-of-stream marker), as VMware writes streams.
        var bytes = File.ReadAllBytes(path).ToList();
        var header = bytes.GetRange(0, 512).ToArray();
        var footer = new byte[1536];
        BinaryPrimitives.WriteUInt32LittleEndian(footer.AsSpan(12), 3);
        header.CopyTo(footer, 512);
        bytes.AddRange(footer);
        var all = bytes.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(all.AsSpan(56), ulong.MaxValue);
        File.WriteAllBytes(path, all);

        using var reopened = ImageFormatRegistry.Default.Open(path, null);
        var read = new byte[65536];
        reopened.Read(65536, read);
        Assert.Equal(grain, read);
        reopened.Read(0, read);
        Assert.All(read, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData("RW 100 FLAT \"a.img\" 0", 1, "a.img")]
    [InlineData("RDONLY 100 FLAT \"a.img\" 0", 0, null)]
    [InlineData("RW 100 ZERO", 0, null)]
    [InlineData("RW 0 SPARSE \"a.vmdk\"", 0, null)]
    [InlineData("  RW   7 VMFS \"x y.vmdk\"", 1, "x y.vmdk")]
    public void Extent_lines_are_scanned_as_qemu_scans_them(string line, int count, string? file)
    {
        var extents = VmdkDescriptor.ReadExtents("version=1\n" + line + "\n");
        Assert.Equal(count, extents.Count);
        Assert.Equal(file, extents.FirstOrDefault()?.FileName);
    }

    [Theory]
    [InlineData("RW 100 FLAT \"a.img\"")]
    [InlineData("RW 100 SPARSE \"a.vmdk\" 5")]
    [InlineData("RW 100 FLAT \"a.img\" -1")]
    public void Malformed_extent_lines_are_refused_with_qemu_s_message(string line)
    {
        var error = Assert.Throws<InvalidImageException>(() => VmdkDescriptor.ReadExtents(line));
        Assert.Equal("Invalid extent line: " + line, error.Message);
    }

    [Theory]
    [InlineData("CID=fffffffe\nparentCID=12ab\n", 0xfffffffeu, 0x12abu)]
    [InlineData("parentCID=1\nCID=2\n", 1u, 1u)]
    public void Cids_are_found_by_substring_as_qemu_finds_them(string text, uint cid, uint parent)
    {
        Assert.Equal(cid, VmdkDescriptor.ReadCid(text, parent: false));
        Assert.Equal(parent, VmdkDescriptor.ReadCid(text, parent: true));
    }

    [Theory]
    [InlineData("# comment\nversion=1\n", true)]
    [InlineData("   \r\nversion=3\r\n", true)]
    [InlineData("version=4\n", false)]
    [InlineData("x\nversion=1\n", false)]
    public void Descriptor_probe_follows_qemu(string text, bool expected) =>
        Assert.Equal(expected, VmdkDescriptor.LooksLikeDescriptor(System.Text.Encoding.ASCII.GetBytes(text)));
}
