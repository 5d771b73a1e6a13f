using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;
using static DiskImage.Interop.Tests.Lifecycle.LifecycleOracle;

namespace DiskImage.Interop.Tests.Lifecycle;

public class RebaseCommitInteropTests
{
    /// <summary>Guest content as qemu-img reads it (the judge), as a byte array.</summary>
    private static byte[] GuestContent(string path)
    {
        var raw = path + ".content.raw";
        ExternalTool.QemuImg("convert", "-O", "raw", path, raw);
        var bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    private static string BackingOf(string path)
    {
        using var document = System.Text.Json.JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", path));
        return document.RootElement.TryGetProperty("backing-filename", out var name) ? name.GetString()! : "";
    }

    /// <summary>base (2M, patterns 1 and 2) under overlay (writes 3 and a zeroed range); other (pattern 9 and 8).</summary>
    private static (string Base, string Overlay, string Other) MakeChain(TempDirectory dir, string otherFormat)
    {
        var basePath = dir.File("base.qcow2");
        Qcow2Oracle.Create(basePath, "2M", "cluster_size=4k");
        Qcow2Oracle.Io(basePath, "write -P 1 0 1M", "write -P 2 1536k 100k");
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay);
        Qcow2Oracle.Io(overlay, "write -P 3 100k 300k", "write -z 800k 64k");
        var other = dir.File("other." + otherFormat);
        ExternalTool.QemuImg("create", "-q", "-f", otherFormat, other, "3M");
        ExternalTool.QemuIo("-f", otherFormat, "-c", "write -P 9 0 600k", "-c", "write -P 8 1600k 10k", other);
        return (basePath, overlay, other);
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("raw")]
    public void Safe_rebase_keeps_the_guest_content(string otherFormat)
    {
        using var dir = new TempDirectory();
        var (_, overlay, _) = MakeChain(dir, otherFormat);
        var before = GuestContent(overlay);
        Diskimg.Ok("rebase", "-b", "other." + otherFormat, "-F", otherFormat, overlay);
        Assert.Equal("other." + otherFormat, BackingOf(overlay));
        Assert.Contains($"backing file format: {otherFormat}", ExternalTool.QemuImg("info", overlay), StringComparison.Ordinal);
        AssertClean(overlay);
        AssertContent(overlay, before);
    }

    [Fact]
    public void Rebase_onto_nothing_copies_everything_the_overlay_lacks()
    {
        using var dir = new TempDirectory();
        var (_, overlay, _) = MakeChain(dir, "qcow2");
        var before = GuestContent(overlay);
        Diskimg.Ok("rebase", "-b", "", overlay);
        Assert.Equal("", BackingOf(overlay));
        AssertClean(overlay);
        AssertContent(overlay, before);
    }

    [Fact]
    public void Unsafe_rebase_only_rewrites_the_header()
    {
        using var dir = new TempDirectory();
        var (_, overlay, other) = MakeChain(dir, "qcow2");
        var before = GuestContent(overlay);
        Diskimg.Ok("rebase", "-u", "-b", "other.qcow2", "-F", "qcow2", overlay);
        Assert.Equal("other.qcow2", BackingOf(overlay));
        // Ranges the overlay allocates (as qemu-img map says) keep their content; the rest now comes from other.
        var expected = GuestContent(other)[..(2 * MiB)];
        using var map = System.Text.Json.JsonDocument.Parse(ExternalTool.QemuImg("map", "--output=json", overlay));
        foreach (var extent in map.RootElement.EnumerateArray())
        {
            if (extent.GetProperty("depth").GetInt32() == 0)
            {
                var start = (int)extent.GetProperty("start").GetInt64();
                var length = (int)extent.GetProperty("length").GetInt64();
                before.AsSpan(start, length).CopyTo(expected.AsSpan(start));
            }
        }

        AssertClean(overlay);
        AssertContent(overlay, expected);
    }

    [Fact]
    public void Rebase_errors_use_qemu_img_wording()
    {
        using var dir = new TempDirectory();
        var (_, overlay, _) = MakeChain(dir, "qcow2");
        Assert.Equal("diskimg: Could not change the backing file to 'other.qcow2': backing format must be specified",
            Diskimg.Run("rebase", "-b", "other.qcow2", overlay).StdErr.Trim());
        var missing = Diskimg.Run("rebase", "-b", "missing.qcow2", "-F", "qcow2", overlay);
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith($"diskimg: Could not open new backing file '{dir.File("missing.qcow2")}'", missing.StdErr, StringComparison.Ordinal);
        Assert.Equal("base.qcow2", BackingOf(overlay));
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("raw")]
    public void Commit_writes_the_overlay_into_its_base_and_empties_it(string baseFormat)
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base." + baseFormat);
        ExternalTool.QemuImg("create", "-q", "-f", baseFormat, basePath, "2M");
        ExternalTool.QemuIo("-f", baseFormat, "-c", "write -P 1 0 2M", basePath);
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "base." + baseFormat, "-F", baseFormat, overlay);
        Qcow2Oracle.Io(overlay, "write -P 3 100k 300k", "write -z 800k 64k", "write -P 4 2040k 8k");
        var before = GuestContent(overlay);
        Assert.Equal("Image committed.\n", Diskimg.Ok("commit", overlay));
        AssertContent(basePath, before, baseFormat);
        AssertContent(overlay, before);
        AssertClean(overlay);
        if (baseFormat == "qcow2")
        {
            AssertClean(basePath);
        }

        Assert.DoesNotContain("\"depth\": 0", ExternalTool.QemuImg("map", "--output=json", overlay), StringComparison.Ordinal);
    }

    [Fact]
    public void Commit_with_a_base_copies_every_layer_above_it_and_keeps_them()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.qcow2");
        Qcow2Oracle.Create(basePath, "1M");
        Qcow2Oracle.Io(basePath, "write -P 1 0 1M");
        var middle = dir.File("middle.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", middle);
        Qcow2Oracle.Io(middle, "write -P 2 0 200k");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "middle.qcow2", "-F", "qcow2", top);
        Qcow2Oracle.Io(top, "write -P 3 100k 200k");
        var before = GuestContent(top);
        Diskimg.Ok("commit", "-b", basePath, top);
        AssertContent(basePath, before);
        AssertContent(top, before);
        AssertClean(basePath);
        Assert.Contains("\"depth\": 0", ExternalTool.QemuImg("map", "--output=json", top), StringComparison.Ordinal);
        Assert.Equal("diskimg: Did not find 'nowhere' in the backing chain of '" + top + "'",
            Diskimg.Run("commit", "-b", "nowhere", top).StdErr.Trim());
        Assert.Equal("diskimg: Image does not have a backing file", Diskimg.Run("commit", basePath).StdErr.Trim());
    }
}
