using System.Text.Json;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>Our reader against osirrox/xorriso/isoinfo on images the reference tools built and Debian ships.</summary>
public partial class IsoReaderInteropTests(IsoSamples samples) : IClassFixture<IsoSamples>
{
    [Theory]
    [MemberData(nameof(IsoSamples.Names), MemberType = typeof(IsoSamples))]
    public void Extract_matches_osirrox(string name)
    {
        var image = IsoSamples.Image(samples, name);
        using var dir = new TempDirectory();
        var theirs = dir.File("osirrox");
        var ours = dir.File("ours");
        ExternalTool.Run("osirrox", "-indev", image, "-extract", "/", theirs).EnsureSuccess("osirrox -extract");
        Diskimg.Ok("iso", "extract", image, "-C", ours);

        TreeSnapshot.AssertEqual(TreeSnapshot.Of(theirs), TreeSnapshot.Of(ours));
        Assert.Equal(0, ExternalTool.Run("diff", "-r", "--no-dereference", theirs, ours).ExitCode);
    }

    [Fact]
    public void Extract_of_tool_made_images_restores_the_source_tree()
    {
        using var dir = new TempDirectory();
        foreach (var name in new[] { "genisoimage", "xorriso-mkisofs" })
        {
            var ours = dir.File(name);
            Diskimg.Ok("iso", "extract", IsoSamples.Image(samples, name), "-C", ours);
            TreeSnapshot.AssertEqual(TreeSnapshot.Of(samples.Tree, withTimes: false), WithoutRelocationDirectory(TreeSnapshot.Of(ours, withTimes: false)));
        }
    }

    [Theory]
    [MemberData(nameof(IsoSamples.Names), MemberType = typeof(IsoSamples))]
    public void Json_listing_names_the_same_paths_types_and_sizes_as_xorriso(string name)
    {
        var image = IsoSamples.Image(samples, name);
        var listing = ExternalTool.Run("xorriso", "-indev", image, "-find", "/", "-exec", "lsdl").EnsureSuccess("xorriso -find").StdOut;
        var theirs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var match = LsdlLine().Match(line);
            Assert.True(match.Success, line);
            var path = match.Groups["path"].Value.Replace("'\"'\"'", "'", StringComparison.Ordinal);
            if (path == "/")
            {
                continue;
            }

            var type = match.Groups["type"].Value switch { "d" => "dir", "l" => "symlink", _ => "file" };
            theirs.Add($"{path} {type} {(type == "file" ? match.Groups["size"].Value : "-")}");
        }

        using var json = JsonDocument.Parse(Diskimg.Ok("iso", "ls", "-R", "--output=json", image));
        var ours = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var entry in json.RootElement.EnumerateArray())
        {
            var type = entry.GetProperty("type").GetString();
            ours.Add($"{entry.GetProperty("path").GetString()} {type} {(type == "file" ? entry.GetProperty("size").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")}");
        }

        Assert.True(theirs.Count > 3, listing);
        Assert.Equal(theirs, ours);
    }

    private static SortedDictionary<string, string> WithoutRelocationDirectory(SortedDictionary<string, string> snapshot)
    {
        snapshot.Remove("rr_moved");
        return snapshot;
    }

    [GeneratedRegex(@"^(?<type>\S)\S{9}\s+\d+\s+\S+\s+\S+\s+(?<size>\d+)\s+\S+\s+\d+\s+\S+\s+'(?<path>.*?)'(?: -> '.*')?$")]
    private static partial Regex LsdlLine();
}
