using System.Text;
using DiskImage.Formats.Iso9660;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Iso9660;

/// <summary>Images from <see cref="IsoBuilder"/> read back by <see cref="IsoFileSystem"/> (the interop tests judge both against xorriso).</summary>
public class BuilderRoundTripTests
{
    private static readonly DateTimeOffset s_epoch = DateTimeOffset.FromUnixTimeSeconds(1700000000);

    private static IsoFileSystem Build(TempDirectory dir, IsoBuildOptions options, Action<IsoBuilder> add)
    {
        var builder = new IsoBuilder(options with { SourceDateEpoch = s_epoch });
        add(builder);
        var path = dir.File(Guid.NewGuid().ToString("N") + ".iso");
        builder.Build(path);
        return IsoFileSystem.Open(path);
    }

    [Fact]
    public void Rock_ridge_keeps_long_names_symlinks_modes_and_times()
    {
        using var dir = new TempDirectory();
        var longName = new string('é', 120) + ".txt";
        var longTarget = string.Join('/', Enumerable.Range(0, 40).Select(i => "component" + i));
        using var iso = Build(dir, new IsoBuildOptions { RockRidge = IsoRockRidgeMode.Exact, Joliet = true }, b =>
        {
            b.AddFile("dir/" + longName, Encoding.UTF8.GetBytes("content"), 0b111_101_000);
            b.AddSymlink("dir/link", "/" + longTarget);
            b.AddDirectory("empty");
        });

        Assert.Equal(IsoTreeKind.RockRidge, iso.Tree);
        var file = iso.Find("/dir/" + longName)!;
        Assert.Equal(7, file.Size);
        Assert.Equal(0b111_101_000u, file.Mode);
        Assert.Equal(s_epoch, file.ModificationTime);
        using var content = new MemoryStream();
        iso.CopyTo(file, content);
        Assert.Equal("content", Encoding.UTF8.GetString(content.ToArray()));
        Assert.Equal("/" + longTarget, iso.Find("/dir/link")!.SymlinkTarget);
        Assert.Equal(IsoNodeKind.Directory, iso.Find("/empty")!.Kind);
        Assert.Equal(["/dir", "/dir/link", "/dir/" + longName, "/empty"], iso.Walk().Select(n => n.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Without_rock_ridge_joliet_names_are_preferred_then_plain_names()
    {
        using var dir = new TempDirectory();
        using (var joliet = Build(dir, new IsoBuildOptions { Joliet = true }, b => b.AddFile("Mixed Case name.txt", [1])))
        {
            Assert.Equal(IsoTreeKind.Joliet, joliet.Tree);
            Assert.Equal("Mixed Case name.txt", Assert.Single(joliet.GetChildren(joliet.Root)).Name);
            Assert.Equal(3, joliet.Volume.JolietLevel);
        }

        using var plain = Build(dir, new IsoBuildOptions(), b => b.AddFile("Mixed Case name.txt", [1]));
        Assert.Equal(IsoTreeKind.Iso9660, plain.Tree);
        Assert.Equal("MIXED_CASE_NAME.TXT", Assert.Single(plain.GetChildren(plain.Root)).Name);
        Assert.False(plain.Volume.RockRidge);
    }

    [Fact]
    public void Colliding_iso_and_joliet_names_are_made_unique()
    {
        using var dir = new TempDirectory();
        var stem = new string('x', 70);
        using var iso = Build(dir, new IsoBuildOptions { Joliet = true }, b =>
        {
            b.AddFile("a b.txt", [1]);
            b.AddFile("a_b.txt", [2]);
            b.AddFile(stem + "1.txt", [3]);
            b.AddFile(stem + "2.txt", [4]);
        });
        var names = iso.GetChildren(iso.Root).Select(n => n.Name).ToList();
        Assert.Equal(4, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, n => Assert.True(n.Length <= 64));
    }

    [Fact]
    public void Boot_entries_are_read_back_as_written()
    {
        using var dir = new TempDirectory();
        using var iso = Build(dir, new IsoBuildOptions
        {
            BootImages = [new IsoBootImage { ImagePath = "b/bios.img", LoadSize = 4, BootInfoTable = true }, new IsoBootImage { ImagePath = "efi.img", Platform = 0xEF }],
            BootCatalogPath = "b/boot.cat",
        }, b =>
        {
            b.AddFile("b/bios.img", new byte[4096]);
            b.AddFile("efi.img", new byte[10000]);
        });
        Assert.Equal([("BIOS", (ushort)4), ("UEFI", (ushort)20)], iso.Volume.BootEntries.Select(e => (e.PlatformName, e.SectorCount)));
        Assert.Equal(iso.Find("/B/BIOS.IMG")!.Extents[0].Offset / 2048, iso.Volume.BootEntries[0].Lba);
        Assert.Equal(2048, iso.Find("/B/BOOT.CAT")!.Size);
    }

    [Fact]
    public void Missing_boot_image_is_an_option_error()
    {
        var builder = new IsoBuilder(new IsoBuildOptions { BootImages = [new IsoBootImage { ImagePath = "nope" }] });
        Assert.Throws<InvalidOptionException>(() => builder.Build(new MemoryStream()));
    }
}
