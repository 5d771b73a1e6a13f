using System.Globalization;
using DiskImage.Formats;
using DiskImage.Formats.Iso9660;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>What <c>info</c> says about ISO files, against <c>isoinfo -d</c> and <c>xorriso -report_el_torito plain</c>.</summary>
public class IsoInfoInteropTests(IsoSamples samples) : IClassFixture<IsoSamples>
{
    [Theory]
    [MemberData(nameof(IsoSamples.Names), MemberType = typeof(IsoSamples))]
    public void Info_reports_raw_with_the_volume_id_and_boot_entries_the_tools_report(string name)
    {
        var image = IsoSamples.Image(samples, name);
        using var opened = ImageFormatRegistry.Default.Open(image, null);
        var info = opened.GetInfo();
        Assert.Equal("raw", info.Format);
        var iso = Assert.IsType<IsoSpecificInfo>(info.FormatSpecific);

        var isoinfo = ExternalTool.Run("isoinfo", "-d", "-i", image).EnsureSuccess("isoinfo -d").StdOut;
        var volumeLine = isoinfo.Split('\n').Single(l => l.StartsWith("Volume id: ", StringComparison.Ordinal));
        Assert.Equal(volumeLine["Volume id: ".Length..].TrimEnd(), iso.VolumeId);
        Assert.Equal(isoinfo.Contains("Joliet with UCS level", StringComparison.Ordinal), iso.Joliet);
        Assert.Equal(isoinfo.Contains("Rock Ridge signatures", StringComparison.Ordinal), iso.RockRidge);
        var blocks = isoinfo.Split('\n').Single(l => l.StartsWith("Volume size is: ", StringComparison.Ordinal));
        Assert.Equal(long.Parse(blocks["Volume size is: ".Length..], CultureInfo.InvariantCulture) * 2048, iso.VolumeSize);

        Assert.Equal(XorrisoBootEntries(image), iso.BootEntries.Select(Describe).ToList());

        var summary = ExternalTool.Run("xorriso", "-indev", image, "-report_system_area", "plain").EnsureSuccess("xorriso -report_system_area").StdOut
            .Split('\n').FirstOrDefault(l => l.StartsWith("System area summary:", StringComparison.Ordinal)) ?? "";
        Assert.Equal(summary.Contains("GPT", StringComparison.Ordinal) ? "gpt" : summary.Contains("MBR", StringComparison.Ordinal) ? "mbr" : null, iso.SystemArea);
    }

    [Fact]
    public void Iso_level_4_names_are_read_from_the_enhanced_tree_as_utf8()
    {
        using var fs = IsoFileSystem.Open(IsoSamples.Image(samples, "genisoimage-iso-level-4"));
        Assert.True(fs.Volume.Enhanced);
        var names = fs.GetChildren(fs.Root).Select(n => n.Name).ToList();
        Assert.Contains("Tiếng Việt có dấu.txt", names);
        Assert.Contains("señor año cañón.txt", names);
        Assert.Contains(AwkwardTree.LongName, names);
    }

    [Fact]
    public void Info_json_has_the_iso9660_format_specific_object()
    {
        var image = IsoSamples.Image(samples, "debian-ipxe");
        using var json = System.Text.Json.JsonDocument.Parse(Diskimg.Ok("info", "--output=json", image));
        Assert.Equal("raw", json.RootElement.GetProperty("format").GetString());
        var specific = json.RootElement.GetProperty("format-specific");
        Assert.Equal("iso9660", specific.GetProperty("type").GetString());
        var data = specific.GetProperty("data");
        Assert.Equal("ISOIMAGE", data.GetProperty("volume-id").GetString());
        var entries = data.GetProperty("boot-entries").EnumerateArray().ToList();
        Assert.Equal(XorrisoBootEntries(image).Count, entries.Count);
        Assert.Equal("BIOS", entries[0].GetProperty("platform").GetString());
        Assert.Equal(4, entries[0].GetProperty("sector-count").GetInt32());
        Assert.Equal(466, entries[0].GetProperty("lba").GetInt64());
    }

    [Fact]
    public void Debian_images_have_the_boot_entries_they_were_built_with()
    {
        using var ipxe = ImageFormatRegistry.Default.Open(IsoSamples.Image(samples, "debian-ipxe"), null);
        var entries = Assert.IsType<IsoSpecificInfo>(ipxe.GetInfo().FormatSpecific).BootEntries;
        Assert.Equal(["BIOS", "UEFI"], entries.Select(e => e.PlatformName));
        Assert.Equal(XorrisoBootEntries(IsoSamples.Image(samples, "debian-ipxe")).Count, entries.Count);
    }

    [Fact]
    public void Iso_format_is_never_probed_but_opens_read_only_when_named()
    {
        var image = IsoSamples.Image(samples, "genisoimage");
        Assert.Equal("raw", ImageFormatRegistry.Default.Probe(image).Name);
        var output = Diskimg.Ok("info", "-f", "iso", image);
        Assert.Contains("virtual size:", output, StringComparison.Ordinal);
        Assert.Throws<UnsupportedFeatureException>(() => ImageFormatRegistry.Default.Open(image, "iso", new ImageOpenOptions { ReadOnly = false }));

        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("zeros.img"), new byte[64 << 10]);
        var notIso = Diskimg.Run("info", "-f", "iso", dir.File("zeros.img"));
        Assert.Equal(1, notIso.ExitCode);
        Assert.StartsWith("diskimg: ", notIso.StdErr, StringComparison.Ordinal);
    }

    private static string Describe(ElToritoBootEntry entry) =>
        string.Join(' ', entry.PlatformName, entry.Bootable ? "y" : "n", entry.EmulationName, $"0x{entry.LoadSegment:x4}", entry.SectorCount, entry.Lba);

    /// <summary>"El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4         466" → "BIOS y none 0x0000 4 466".</summary>
    private static List<string> XorrisoBootEntries(string image)
    {
        var report = ExternalTool.Run("xorriso", "-indev", image, "-report_el_torito", "plain").EnsureSuccess("xorriso -report_el_torito").StdOut;
        return report.Split('\n').Where(l => l.StartsWith("El Torito boot img :", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[5..])
            .Select(f => string.Join(' ', f[1], f[2], f[3], f[4], f[6], f[7]))
            .ToList();
    }
}
