using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// A safe rebase copies what the old backing chain showed wherever the new backing file differs. Past the
/// old backing file's end (or with none) that is zeroes, which a version-3 image records as zero clusters,
/// as qemu-img does (QEMU's test 252). Version 2 has no zero clusters: there the zeroes must be written,
/// since deallocating would expose the new backing file (qemu-img 7.2 gets that case wrong; the guest
/// content is the judge there).
/// </summary>
public class RebaseZeroClustersInteropTests
{
    [Theory]
    [InlineData("1.1", null)]
    [InlineData("1.1", "128k")]
    [InlineData("1.1", "100k")]
    [InlineData("0.10", null)]
    [InlineData("0.10", "128k")]
    public void Zeroes_past_the_old_backing_file_become_zero_clusters_where_qemu_img_makes_them(string compat, string? oldBackingSize)
    {
        using var dir = new TempDirectory();
        var theirs = Make(dir, "theirs", compat, oldBackingSize);
        var ours = Make(dir, "ours", compat, oldBackingSize);
        var expected = Expected(ours);

        ExternalTool.QemuImg("rebase", "-b", Path.GetFileName(NewBacking(dir, "theirs", compat)), "-F", "qcow2", theirs);
        Diskimg.Ok("rebase", "-b", Path.GetFileName(NewBacking(dir, "ours", compat)), "-F", "qcow2", ours);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        var compare = ExternalTool.Run("qemu-img", "compare", "-F", "raw", ours, expected);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
        if (compat == "1.1")
        {
            Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirs).Split('\n').Where(l => l.Contains("\"depth\": 0", StringComparison.Ordinal)).Select(StripOffset),
                ExternalTool.QemuImg("map", "--output=json", ours).Split('\n').Where(l => l.Contains("\"depth\": 0", StringComparison.Ordinal)).Select(StripOffset));
        }
    }

    /// <summary>Six clusters: 0-1 pattern 0x22, 2-3 pattern 0x11 in the overlay, the rest from the old backing file (if any).</summary>
    private static string Make(TempDirectory dir, string name, string compat, string? oldBackingSize)
    {
        var image = dir.File(name + ".qcow2");
        if (oldBackingSize is null)
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", $"compat={compat}", image, "384k");
        }
        else
        {
            var old = dir.File(name + "-old.raw");
            ExternalTool.QemuImg("create", "-q", "-f", "raw", old, oldBackingSize);
            ExternalTool.QemuIo("-f", "raw", "-c", $"write -P 0x33 0 {oldBackingSize}", old);
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", $"compat={compat}", "-b", Path.GetFileName(old), "-F", "raw", image, "384k");
        }

        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x22 0 128k", "-c", "write -P 0x11 128k 128k", image);
        return image;
    }

    private static string NewBacking(TempDirectory dir, string name, string compat)
    {
        var path = dir.File(name + "-new.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", $"compat={compat}", path, "384k");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x11 0 64k", "-c", "write -P 0x11 128k 64k", "-c", "write -P 0x11 256k 64k", "-c", "write -P 0x44 40k 8k", path);
        return path;
    }

    /// <summary>The guest content before the rebase, which the rebase must keep.</summary>
    private static string Expected(string image)
    {
        var raw = image + ".expected.raw";
        ExternalTool.QemuImg("convert", "-O", "raw", image, raw);
        return raw;
    }

    private static string StripOffset(string line) => System.Text.RegularExpressions.Regex.Replace(line, @", ""offset"": \d+", "");
}
