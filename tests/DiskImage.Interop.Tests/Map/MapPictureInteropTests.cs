using System.Text.Json;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;

namespace DiskImage.Interop.Tests.Map;

/// <summary>
/// <c>diskimg map --output=svg|html</c>, judged in headless Chromium: the page loads without console errors,
/// the legend's totals are the sums of <c>qemu-img map --output=json</c>, and a thin and a fully preallocated
/// image of the same content look different where their provisioning differs. The host-file strip's metadata
/// total is judged against <c>qemu-img check</c>'s figures: the file's end (in clusters) minus the clusters the
/// image maps, for images with no free clusters inside.
/// </summary>
public partial class MapPictureInteropTests
{
    private const int DataColour = 0xd62728;
    private const int UnallocatedColour = 0xeeeeee;
    private const int MetadataColour = 0xe377c2;
    private const int HostDataColour = 0x8c564b;

    /// <summary>The legend's swatch is 12 by 12 pixels: more pixels of a colour than that are drawn in a strip.</summary>
    private const int SwatchPixels = 12 * 12;

    [Theory]
    [InlineData("")]
    [InlineData("preallocation=full")]
    [InlineData("preallocation=metadata")]
    public void The_html_legend_totals_equal_qemu_img_map_sums_and_the_page_has_no_console_errors(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        MakeImage(path, options);
        var page = dir.File("map.html");
        File.WriteAllText(page, Diskimg.Ok("map", "--output=html", path));
        var (dom, log) = Chromium(dir, "--dump-dom", new Uri(page).AbsoluteUri);
        Assert.DoesNotMatch(ConsoleProblem(), log);
        Assert.Contains("id=\"legend\"", dom, StringComparison.Ordinal);

        var expected = QemuTotals(path);
        foreach (var (id, bytes) in expected)
        {
            Assert.True(Legend(dom, id) == bytes, $"legend total-{id} is {Legend(dom, id)}, qemu-img map sums {bytes}");
        }

        AssertHostFileTotals(dom, path);
    }

    /// <summary>Snapshots and bitmaps add metadata clusters of their own (snapshot table, copied L1, bitmap directory and table).</summary>
    [Theory]
    [InlineData("bitmap")]
    [InlineData("snapshot")]
    public void The_metadata_total_counts_bitmap_and_snapshot_structures(string extra)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        MakeImage(path, "");
        var before = Legend(Diskimg.Ok("map", "--output=svg", path), "metadata");
        if (extra == "bitmap")
        {
            ExternalTool.QemuImg("bitmap", "--add", path, "b0");
            AssertHostFileTotals(Diskimg.Ok("map", "--output=svg", path), path);
        }
        else
        {
            // A snapshot frees clusters (the L1 it replaces), so qemu-img check's end offset is no oracle here;
            // the refcount table tells which clusters are in use, and the map must agree with qemu-img's own count.
            ExternalTool.QemuImg("snapshot", "-c", "s1", path);
            var svg = Diskimg.Ok("map", "--output=svg", path);
            Assert.Equal(Legend(svg, "host-file"), Legend(svg, "host-data") + Legend(svg, "metadata") + Legend(svg, "host-free"));
            Assert.Equal(ImageEnd(path), Legend(svg, "host-data") + Legend(svg, "metadata") + Legend(svg, "host-free"));
        }

        var after = Legend(Diskimg.Ok("map", "--output=svg", path), "metadata");
        Assert.True(after > before, $"metadata {before} before the {extra}, {after} after");
    }

    /// <summary>
    /// Metadata is what the file holds beyond the clusters the image maps: qemu-img check's image-end-offset
    /// minus allocated-clusters times the cluster size (qemu-img info's), when no cluster inside is free.
    /// </summary>
    private static void AssertHostFileTotals(string page, string path)
    {
        using var check = JsonDocument.Parse(ExternalTool.QemuImg("check", "--output=json", path));
        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", path));
        var end = check.RootElement.GetProperty("image-end-offset").GetInt64();
        var mapped = check.RootElement.GetProperty("allocated-clusters").GetInt64() * info.RootElement.GetProperty("cluster-size").GetInt64();
        Assert.Equal(0, Legend(page, "host-free"));
        Assert.Equal(mapped, Legend(page, "host-data"));
        Assert.Equal(end - mapped, Legend(page, "metadata"));
        Assert.Equal(end, Legend(page, "host-file"));
    }

    private static long ImageEnd(string path)
    {
        using var check = JsonDocument.Parse(ExternalTool.QemuImg("check", "--output=json", path));
        return check.RootElement.GetProperty("image-end-offset").GetInt64();
    }

    [Fact]
    public void The_console_check_catches_a_script_error()
    {
        // Without this, a browser that logs nothing would let every page pass the console check.
        using var dir = new TempDirectory();
        var page = dir.File("bad.html");
        File.WriteAllText(page, "<!DOCTYPE html><html><body><script>noSuchFunction();</script></body></html>");
        var (_, log) = Chromium(dir, "--dump-dom", new Uri(page).AbsoluteUri);
        Assert.Matches(ConsoleProblem(), log);
    }

    [Fact]
    public void A_thin_and_a_preallocated_image_of_the_same_content_look_different()
    {
        using var dir = new TempDirectory();
        var thin = dir.File("thin.qcow2");
        var full = dir.File("full.qcow2");
        MakeImage(thin, "");
        MakeImage(full, "preallocation=full");
        Assert.Equal("Images are identical.", ExternalTool.QemuImg("compare", thin, full).Trim());

        var shots = new Dictionary<string, byte[]>();
        foreach (var (name, image) in new[] { ("thin", thin), ("full", full) })
        {
            var svg = dir.File(name + ".svg");
            File.WriteAllText(svg, Diskimg.Ok("map", "--output=svg", image));
            var png = dir.File(name + ".png");
            var (_, log) = Chromium(dir, "--screenshot=" + png, "--window-size=1100,700", new Uri(svg).AbsoluteUri);
            Assert.DoesNotMatch(ConsoleProblem(), log);
            shots[name] = File.ReadAllBytes(png);
        }

        // 12 MiB of 64 MiB hold data in the thin image; the preallocated one is data throughout.
        var thinData = PngPixels.Count(shots["thin"], DataColour);
        var fullData = PngPixels.Count(shots["full"], DataColour);
        Assert.True(thinData > 0, "the thin image's data cells are not drawn");
        Assert.True(fullData > 4 * thinData, $"data pixels: thin {thinData}, full {fullData}");
        Assert.True(PngPixels.Count(shots["thin"], UnallocatedColour) > PngPixels.Count(shots["full"], UnallocatedColour) + 1000);

        // Both host-file strips are drawn: data clusters, and metadata cells beyond the legend's swatch.
        foreach (var (name, shot) in shots)
        {
            Assert.True(PngPixels.Count(shot, MetadataColour) > SwatchPixels, $"{name}: metadata pixels {PngPixels.Count(shot, MetadataColour)}");
            Assert.True(PngPixels.Count(shot, HostDataColour) > 1000, $"{name}: host data pixels {PngPixels.Count(shot, HostDataColour)}");
        }
    }

    private static void MakeImage(string path, string options)
    {
        Qcow2Oracle.Create(path, "64M", options);
        Qcow2Oracle.Io(path, "write -P 1 0 8M", "write -P 2 32M 4M", "write -z 48M 1M");
    }

    private static (string StdOut, string Log) Chromium(TempDirectory dir, params string[] arguments)
    {
        var profile = dir.File("profile");
        var result = ExternalTool.Run("chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0",
            "--user-data-dir=" + profile, .. arguments]).EnsureSuccess("chromium");
        return (result.StdOut, result.StdErr);
    }

    /// <summary>The sums a legend must show, from qemu-img's own runs, with the categories the legend documents.</summary>
    private static Dictionary<string, long> QemuTotals(string path)
    {
        var totals = new Dictionary<string, long> { ["data"] = 0, ["compressed"] = 0, ["zero"] = 0, ["backing"] = 0, ["unallocated"] = 0, ["virtual"] = 0, ["allocated"] = 0 };
        using var json = JsonDocument.Parse(ExternalTool.QemuImg("map", "--output=json", path));
        foreach (var run in json.RootElement.EnumerateArray())
        {
            var length = run.GetProperty("length").GetInt64();
            var depth = run.GetProperty("depth").GetInt32();
            var present = run.GetProperty("present").GetBoolean();
            var category = !present ? "unallocated"
                : run.GetProperty("zero").GetBoolean() ? "zero"
                : depth > 0 ? "backing"
                : run.GetProperty("data").GetBoolean() && !run.TryGetProperty("offset", out _) ? "compressed"
                : "data";
            totals[category] += length;
            totals["virtual"] += length;
            if (present && depth == 0)
            {
                totals["allocated"] += length;
            }
        }

        return totals;
    }

    private static long Legend(string dom, string id)
    {
        var match = Regex.Match(dom, $"id=\"total-{id}\" data-bytes=\"(\\d+)\"");
        Assert.True(match.Success, $"no legend entry total-{id}");
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"CONSOLE.*(error|Uncaught)|Uncaught|SyntaxError|TypeError|ReferenceError", RegexOptions.IgnoreCase)]
    private static partial Regex ConsoleProblem();
}
