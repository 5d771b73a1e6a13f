using DiskImage.Formats;
using DiskImage.Formats.Dmg;
using DiskImage.Tests.Infrastructure;
using static DiskImage.Tests.Formats.Dmg.UdifWriter;

namespace DiskImage.Tests.Formats.Dmg;

public class DmgUnitTests
{
    [Theory]
    [InlineData("a.dmg", 2)]
    [InlineData("/x/.dmg", 2)]
    [InlineData(".dmg", 0)]
    [InlineData("a.DMG", 0)]
    [InlineData("a.dmg.img", 0)]
    public void Probe_goes_by_the_name_alone(string name, int score)
    {
        Assert.Equal(score, DmgFormat.Instance.ProbeFileName(name));
        Assert.Equal(0, DmgFormat.Instance.Probe(Build([new Part(TypeRaw, 1, new byte[512])]), 2048));
    }

    [Fact]
    public void Registry_prefers_dmg_over_raw_only_by_name()
    {
        using var dir = new TempDirectory();
        var image = Build([new Part(TypeZlib, 4, Pattern(4, 1))]);
        File.WriteAllBytes(dir.File("x.dmg"), image);
        File.WriteAllBytes(dir.File("x.img"), image);
        Assert.Equal("dmg", ImageFormatRegistry.Default.Probe(dir.File("x.dmg")).Name);
        Assert.Equal("raw", ImageFormatRegistry.Default.Probe(dir.File("x.img")).Name);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Chunks_read_back_in_both_table_forms(bool resourceFork)
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.dmg");
        var zlib = Pattern(8, 1);
        var raw = Pattern(2, 2);
        File.WriteAllBytes(path, Build([new Part(TypeZlib, 8, zlib), new Part(TypeZero, 3), new Part(TypeRaw, 2, raw), new Part(TypeComment, 0), new Part(TypeIgnore, 1)], resourceFork));
        using var image = DmgFormat.Instance.Open(path, new ImageOpenOptions());
        Assert.Equal(14 * 512, image.Length);
        Assert.False(image.CanWrite);
        var all = new byte[image.Length];
        image.Read(0, all);
        Assert.Equal(zlib, all[..4096]);
        Assert.All(all[4096..5632], b => Assert.Equal(0, b));
        Assert.Equal(raw, all[5632..6656]);
        Assert.All(all[6656..], b => Assert.Equal(0, b));

        // Unaligned reads across chunks give the same bytes.
        var part = new byte[3000];
        image.Read(3000, part);
        Assert.Equal(all[3000..6000], part);
        Assert.Throws<InvalidOperationException>(() => image.Write(0, new byte[512]));
        Assert.Equal([new DiskImage.IO.Extent(0, image.Length, DiskImage.IO.ExtentKind.Data)], image.GetExtents(0, image.Length));
    }

    [Fact]
    public void Sectors_no_chunk_covers_fail_with_eio()
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.dmg");
        File.WriteAllBytes(path, Build([new Part(TypeRaw, 1, Pattern(1, 1)), new Part(TypeBzip2, 2, [1, 2])]));
        using var image = DmgFormat.Instance.Open(path, new ImageOpenOptions());
        image.Read(0, new byte[512]);
        var e = Assert.Throws<IOException>(() => image.Read(512, new byte[512]));
        Assert.Equal(5, e.HResult);
    }

    [Fact]
    public void Writable_open_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.dmg");
        File.WriteAllBytes(path, Build([new Part(TypeRaw, 1, Pattern(1, 1))]));
        var e = Assert.Throws<ImageAccessException>(() => DmgFormat.Instance.Open(path, new ImageOpenOptions { ReadOnly = false }));
        Assert.Equal("Image is read-only", e.Message);
    }

    [Theory]
    [InlineData("QUJD", new byte[] { 0x41, 0x42, 0x43 })]
    [InlineData("QU JD\n", new byte[] { 0x41, 0x42, 0x43 })]
    [InlineData("QUI=", new byte[] { 0x41, 0x42 })]
    [InlineData("QQ==", new byte[] { 0x41 })]
    [InlineData("QUJDRA", new byte[] { 0x41, 0x42, 0x43 })]
    [InlineData("!!!", new byte[0])]
    [InlineData("=QUJ", new byte[] { 0x01, 0x05, 0x09 })]
    public void Base64_decodes_as_glib(string text, byte[] expected) =>
        Assert.Equal(expected, DiskImage.Codecs.GlibBase64.Decode(System.Text.Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void Unsorted_tables_are_searched_as_stored()
    {
        var table = new DmgChunkTable();
        table.Add(DmgChunkType.Raw, 8, 8, 0, 4096);
        table.Add(DmgChunkType.Zero, 0, 8, 0, 0);
        table.Add(DmgChunkType.Raw, 16, 4, 0, 2048);
        // The middle entry first, as QEMU's search: sectors 8-15 lie right of it, then left of entry 2, so not found.
        Assert.Equal(-1, table.Find(8));
        Assert.Equal(-1, table.Find(12));
        Assert.Equal(1, table.Find(3));
        Assert.Equal(2, table.Find(17));
        Assert.Equal(-1, table.Find(20));
        Assert.Equal(8u, table.MaxSectorsPerChunk);
    }
}
