using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// <c>convert --bitmaps</c> and the other verbs on images with bitmaps, judged by qemu-img 7.2: the same command
/// run by both tools must give the same bitmaps (info, dirty ranges) or the same refusal.
/// </summary>
public class BitmapConvertInteropTests
{
    /// <summary>A 20 MiB image with three bitmaps of different granularities, one disabled, dirtied by qemu-io.</summary>
    private static string Source(TempDirectory dir)
    {
        var source = dir.File("source.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", source, "20M");
        ExternalTool.QemuImg("bitmap", "--add", source, "b1");
        ExternalTool.QemuImg("bitmap", "--add", "-g", "4k", source, "b2");
        ExternalTool.QemuImg("bitmap", "--add", "-g", "512", source, "b3");
        ExternalTool.QemuIo("-c", "write -P 1 1M 100k", "-c", "write -P 2 7M 3k", source);
        ExternalTool.QemuImg("bitmap", "--disable", source, "b2");
        ExternalTool.QemuIo("-c", "write -P 3 12M 64k", source);
        return source;
    }

    [Theory]
    [InlineData("65536")]
    [InlineData("4096")]
    [InlineData("2097152")]
    public void Convert_with_bitmaps_copies_them_as_qemu_img_does(string clusterSize)
    {
        using var dir = new TempDirectory();
        var source = Source(dir);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("convert", "--bitmaps", "-O", "qcow2", "-o", $"cluster_size={clusterSize}", source, theirs);
        Diskimg.Ok("convert", "--bitmaps", "-O", "qcow2", "-o", $"cluster_size={clusterSize}", source, ours);

        Assert.Equal(BitmapVerbInteropTests.BitmapsOf(theirs), BitmapVerbInteropTests.BitmapsOf(ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        foreach (var (name, granularity) in new[] { ("b1", 65536L), ("b2", 4096L), ("b3", 512L) })
        {
            var expected = DirtyRanges.Read(theirs, name, granularity);
            Assert.NotEmpty(expected);
            Assert.True(expected.SetEquals(DirtyRanges.Read(ours, name, granularity)), name);
        }
    }

    [Fact]
    public void Convert_without_bitmaps_copies_none()
    {
        using var dir = new TempDirectory();
        var source = Source(dir);
        var ours = dir.File("ours.qcow2");
        Diskimg.Ok("convert", "-O", "qcow2", source, ours);
        Assert.Equal("[]", BitmapVerbInteropTests.BitmapsOf(ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", source, ours).ExitCode);
    }

    /// <summary>Arguments of convert between the options and the target (SOURCE stands for the source image).</summary>
    public static TheoryData<string, string[]> Refusals => new()
    {
        { "raw target", ["--bitmaps", "-O", "raw", "SOURCE"] },
        { "skip without bitmaps", ["--skip-broken-bitmaps", "-O", "qcow2", "SOURCE"] },
        { "v2 target", ["--bitmaps", "-O", "qcow2", "-o", "compat=0.10", "SOURCE"] },
        { "two sources", ["--bitmaps", "-O", "qcow2", "SOURCE", "SOURCE"] },
        { "raw source", ["--bitmaps", "-f", "raw", "-O", "qcow2", "SOURCE"] },
        { "inconsistent source", ["--bitmaps", "-O", "qcow2", "BROKEN"] },
        { "inconsistent source skipped", ["--bitmaps", "--skip-broken-bitmaps", "-O", "qcow2", "BROKEN"] },
        { "existing target with the same bitmaps", ["-n", "--bitmaps", "-O", "qcow2", "SOURCE"] },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Convert_refusals_and_warnings_match_qemu_img(string name, string[] arguments)
    {
        using var dir = new TempDirectory();
        var source = Source(dir);
        var broken = dir.File("broken.qcow2");
        File.Copy(source, broken);
        BitmapVerbInteropTests.MakeInconsistent(broken);
        var results = new List<ExternalTool.Result>();
        foreach (var tool in new[] { "qemu-img", "diskimg" })
        {
            var target = dir.File(tool + ".qcow2");
            if (name.StartsWith("existing", StringComparison.Ordinal))
            {
                File.Copy(source, target, overwrite: true);
            }

            string[] args = ["convert", .. arguments.Select(a => a == "SOURCE" ? source : a == "BROKEN" ? broken : a), target];
            var result = tool == "qemu-img" ? ExternalTool.Run("qemu-img", args) : Diskimg.Run(args);
            results.Add(result with { StdErr = result.StdErr.Replace(target, "TARGET", StringComparison.Ordinal) });
        }

        Assert.True(results[0].ExitCode == results[1].ExitCode, $"{name}: diskimg exited {results[1].ExitCode} ('{results[1].StdErr}'), qemu-img {results[0].ExitCode} ('{results[0].StdErr}')");
        Assert.Equal(BitmapVerbInteropTests.ErrorLines(results[0].StdErr, "qemu-img: "), BitmapVerbInteropTests.ErrorLines(results[1].StdErr, "diskimg: "));
    }

    [Fact]
    public void Snapshot_apply_is_refused_and_amend_to_compat_0_10_leaves_no_leak()
    {
        using var dir = new TempDirectory();
        var source = Source(dir);
        Diskimg.Ok("snapshot", "-c", "s1", source);
        var theirs = ExternalTool.Run("qemu-img", "snapshot", "-a", "s1", source);
        var ours = Diskimg.Run("snapshot", "-a", "s1", source);
        Assert.Equal(1, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(BitmapVerbInteropTests.ErrorLines(theirs.StdErr, "qemu-img: "), BitmapVerbInteropTests.ErrorLines(ours.StdErr, "diskimg: "));
        Diskimg.Ok("snapshot", "-d", "s1", source);

        // QEMU 7.2 leaks the bitmap clusters on this downgrade; ours frees them (same guest content, clean check).
        var copy = dir.File("copy.qcow2");
        File.Copy(source, copy);
        Diskimg.Ok("amend", "-o", "compat=0.10", copy);
        var check = ExternalTool.Run("qemu-img", "check", copy);
        Assert.True(check.ExitCode == 0 && check.StdErr.Length == 0, check.StdOut + check.StdErr);
        Assert.Contains("compat: 0.10", ExternalTool.QemuImg("info", copy), StringComparison.Ordinal);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", source, copy).ExitCode);
    }
}
