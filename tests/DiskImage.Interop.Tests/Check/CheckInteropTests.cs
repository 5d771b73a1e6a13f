using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;

namespace DiskImage.Interop.Tests.Check;

/// <summary><c>diskimg check</c> must find, say and repair what <c>qemu-img check</c> 7.2 does, with its exit codes.</summary>
public class CheckInteropTests
{
    [Theory]
    [InlineData("")]
    [InlineData("cluster_size=512")]
    [InlineData("compat=0.10")]
    [InlineData("extended_l2=on")]
    [InlineData("preallocation=metadata")]
    [InlineData("preallocation=full")]
    [InlineData("refcount_bits=8")]
    [InlineData("refcount_bits=64")]
    [InlineData("lazy_refcounts=on")]
    public void Clean_images_check_like_qemu(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "4M", options);
        Qcow2Oracle.Io(path, "write -P 1 0 3k", "write -P 2 70k 6k", "write -z 200k 8k", "write -P 3 2M 1M", "discard 2200k 64k");
        if (!options.StartsWith("preallocation", StringComparison.Ordinal))
        {
            Qcow2Oracle.Io(path, "write -c -P 4 3M 64k", "write -c -P 5 3136k 64k");
        }

        ExternalTool.QemuImg("snapshot", "-c", "s1", path);
        Qcow2Oracle.Io(path, "write -P 6 0 64k");
        var outcome = AssertSameCheck(path);
        Assert.Equal(0, outcome);
    }

    [Fact]
    public void Leaked_cluster_is_reported_with_exit_3_and_repaired_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = MakeImage(dir);
        // A cluster past the old end of the file, taken (refcount 1) but referenced by nothing.
        var clusters = (new FileInfo(path).Length + 65535) / 65536;
        using (var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.SetLength((clusters + 1) * 65536);
        }

        Qcow2Poke.SetRefcount(path, clusters, 1);
        Assert.Equal(3, AssertSameCheck(path));
        AssertRepairsLikeQemu(dir, path, "leaks");
        AssertRepairsLikeQemu(dir, path, "all");
    }

    [Fact]
    public void Zero_refcount_for_a_used_cluster_is_a_corruption_with_exit_2_and_rebuilt_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = MakeImage(dir);
        Qcow2Poke.SetRefcount(path, 6, 0);
        Assert.Equal(2, AssertSameCheck(path));
        AssertRepairsLikeQemu(dir, path, "all");
    }

    [Fact]
    public void Refcount_two_on_a_copied_cluster_gives_leak_and_copied_flag_error_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = MakeImage(dir);
        Qcow2Poke.SetRefcount(path, 6, 2);
        Assert.Equal(2, AssertSameCheck(path));
        AssertRepairsLikeQemu(dir, path, "leaks");
        AssertRepairsLikeQemu(dir, path, "all");
    }

    [Fact]
    public void L2_entries_pointing_at_the_l1_table_or_far_past_the_end_are_reported_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = MakeImage(dir);
        Qcow2Poke.SetFirstL2Entry(path, 30, (ulong)Qcow2Poke.L1Offset(path) | (1UL << 63));
        Qcow2Poke.SetFirstL2Entry(path, 31, (1UL << 55) | (1UL << 63));
        Qcow2Poke.SetFirstL2Entry(path, 32, 0x10200UL | (1UL << 63));
        Assert.Equal(2, AssertSameCheck(path));
    }

    [Fact]
    public void Raw_images_are_not_checkable()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", path, "1M");
        var expected = ExternalTool.Run("qemu-img", "check", path);
        var actual = Diskimg.Run("check", path);
        Assert.Equal(63, expected.ExitCode);
        Assert.Equal(63, actual.ExitCode);
        Assert.Contains("This image format does not support checks", actual.StdErr, StringComparison.Ordinal);
    }

    private static string MakeImage(TempDirectory dir)
    {
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "4M");
        Qcow2Oracle.Io(path, "write -P 1 0 1M", "write -P 2 2M 128k");
        return path;
    }

    /// <summary>Same exit code, stdout and stderr lines (bar the program name) and JSON; returns the exit code.</summary>
    private static int AssertSameCheck(string path)
    {
        var expected = ExternalTool.Run("qemu-img", "check", path);
        var actual = Diskimg.Run("check", path);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut, actual.StdOut);
        Assert.Equal(expected.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), actual.StdErr);
        var expectedJson = ExternalTool.Run("qemu-img", "check", "--output=json", path);
        var actualJson = Diskimg.Run("check", "--output=json", path);
        Assert.Equal(expectedJson.ExitCode, actualJson.ExitCode);
        Assert.Equal(Fields(expectedJson.StdOut), Fields(actualJson.StdOut));
        Assert.Equal(expectedJson.StdOut, actualJson.StdOut);
        return actual.ExitCode;
    }

    /// <summary>Repairs one copy with qemu-img and one with diskimg: same report, qemu-img passes ours, same guest content.</summary>
    private static void AssertRepairsLikeQemu(TempDirectory dir, string path, string mode)
    {
        var theirs = dir.File($"qemu-{mode}.qcow2");
        var ours = dir.File($"ours-{mode}.qcow2");
        File.Copy(path, theirs, overwrite: true);
        File.Copy(path, ours, overwrite: true);
        var expected = ExternalTool.Run("qemu-img", "check", "-r", mode, theirs);
        var actual = Diskimg.Run("check", "-r", mode, ours);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut, actual.StdOut);
        var verdict = ExternalTool.Run("qemu-img", "check", ours);
        Assert.Equal(ExternalTool.Run("qemu-img", "check", theirs).ExitCode, verdict.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
    }

    private static List<string> Fields(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateObject().Select(p => $"{p.Name}={p.Value}").Order(StringComparer.Ordinal).ToList();
    }
}
