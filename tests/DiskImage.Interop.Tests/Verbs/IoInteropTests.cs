using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Verbs;

public class IoInteropTests
{
    [Fact]
    public void Our_writes_zero_writes_and_discards_read_back_correctly_in_qemu_io()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "4M");
        Diskimg.Ok("io", "-f", "raw",
            "-c", "write -P 0xab 0 1M",
            "-c", "write 1M 64k",
            "-c", "write -P 0x11 1200000 3000",
            "-c", "write -z 64k 64k",
            "-c", "write -z -u 256k 128k",
            "-c", "write -P 0x5a 2M 1M",
            "-c", "discard 2M 512k",
            "-c", "flush",
            image);

        var output = ExternalTool.QemuIo("-f", "raw",
            "-c", "read -P 0xab 0 64k",
            "-c", "read -P 0 64k 64k",
            "-c", "read -P 0xab 128k 128k",
            "-c", "read -P 0 256k 128k",
            "-c", "read -P 0xab 384k 640k",
            "-c", "read -P 0xcd 1M 64k",
            "-c", "read -P 0x11 1200000 3000",
            "-c", "read -P 0 2M 512k",
            "-c", "read -P 0x5a 2560k 512k",
            "-c", "read -P 0 3M 1M",
            image);
        Assert.DoesNotContain("Pattern verification failed", output, StringComparison.Ordinal);
        Assert.Equal(10, output.Split('\n').Count(l => l.StartsWith("read ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("cluster_size=4k")]
    [InlineData("extended_l2=on,cluster_size=32k")]
    public void Our_writes_to_qcow2_read_back_in_qemu_io_and_pass_check(string options)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        ExternalTool.QemuImg(["create", "-f", "qcow2", .. options.Length > 0 ? new[] { "-o", options } : [], image, "4M"]);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x77 0 4M", image);
        Diskimg.Ok("io", "-f", "qcow2",
            "-c", "write -P 0xab 1000 70000",
            "-c", "write -z 128k 64k",
            "-c", "write -z -u 256k 128k",
            "-c", "discard 1M 1M",
            "-c", "write -P 0x5a 3M 5000",
            "-c", "flush",
            image);

        var output = ExternalTool.QemuIo("-f", "qcow2",
            "-c", "read -P 0x77 0 1000",
            "-c", "read -P 0xab 1000 70000",
            "-c", "read -P 0x77 71000 60072",
            "-c", "read -P 0 128k 64k",
            "-c", "read -P 0x77 192k 64k",
            "-c", "read -P 0 256k 128k",
            "-c", "read -P 0 1M 1M",
            "-c", "read -P 0x5a 3M 5000",
            "-c", "read -P 0x77 3150728 1043576",
            image);
        Assert.DoesNotContain("Pattern verification failed", output, StringComparison.Ordinal);
        Assert.Equal(9, output.Split('\n').Count(l => l.StartsWith("read ", StringComparison.Ordinal)));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", "-f", "qcow2", image).ExitCode);
    }

    [Fact]
    public void Qemu_io_writes_verify_with_our_read_and_a_wrong_pattern_fails_as_in_qemu_io()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x42 4k 8k", "-c", "write -z 8k 1k", image);

        var good = Diskimg.Run("io", "-f", "raw", "-c", "read -P 0x42 4k 4k", "-c", "read -P 0 8k 1k", "-c", "read -P 0x42 9k 3k", image);
        Assert.Equal(0, good.ExitCode);
        Assert.DoesNotContain("Pattern verification failed", good.StdOut, StringComparison.Ordinal);

        string[] wrong = ["-f", "raw", "-c", "read -P 0x43 4k 4k", "-c", "read -P 0x42 4k 8k", image];
        var ours = Diskimg.Run(["io", .. wrong]);
        var theirs = ExternalTool.Run("qemu-io", wrong);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(1, ours.ExitCode);
        Assert.Equal(ResultLines(theirs.StdOut), ResultLines(ours.StdOut));
        Assert.Contains("Pattern verification failed at offset 4096, 4096 bytes", ours.StdOut, StringComparison.Ordinal);
        Assert.Contains("Pattern verification failed at offset 4096, 8192 bytes", ours.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_lines_match_qemu_io_apart_from_timings()
    {
        using var dir = new TempDirectory();
        var ourImage = dir.File("ours.raw");
        var theirImage = dir.File("theirs.raw");
        ExternalTool.QemuImg("create", "-f", "raw", ourImage, "2M");
        ExternalTool.QemuImg("create", "-f", "raw", theirImage, "2M");
        string[] commands =
        [
            "-c", "write -P 0x41 0 20", "-c", "read -v 0 20", "-c", "write 1000 1000000", "-c", "read 0 1536",
            "-c", "read -v 1000 33", "-c", "discard 1M 4k", "-c", "write -z 1M 1k", "-c", "info", "-c", "length",
            "-c", "read 2M 1", "-c", "read 0 x", "-c", "write -u 0 1", "-c", "write -P 0x100 0 1", "-c", "read -P 1 -s 600 -l 10 0 512",
        ];
        var ours = Diskimg.Run(["io", "-f", "raw", .. commands, ourImage]);
        var theirs = ExternalTool.Run("qemu-io", ["-f", "raw", .. commands, theirImage]);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(ResultLines(theirs.StdOut), ResultLines(ours.StdOut));
    }

    [Theory]
    [InlineData("compat=0.10")]
    [InlineData("compat=1.1")]
    [InlineData("extended_l2=on,lazy_refcounts=on,compression_type=zstd,cluster_size=2M")]
    [InlineData("cluster_size=4k,refcount_bits=64")]
    public void Info_on_qcow2_matches_qemu_io(string options)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", options, image, "1G");
        var theirs = ExternalTool.QemuIo("-r", "-f", "qcow2", "-c", "info", "-c", "length", image);
        var ours = Diskimg.Ok("io", "-r", "-f", "qcow2", "-c", "info", "-c", "length", image);
        Assert.Equal(theirs, ours);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("read 1M 1")]
    [InlineData("read 0")]
    public void Hostile_commands_fail_with_exit_1_like_qemu_io(string command)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "64k");
        var ours = Diskimg.Run("io", "-f", "raw", "-c", command, image);
        var theirs = ExternalTool.Run("qemu-io", "-f", "raw", "-c", command, image);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.True(ours.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 1, ours.StdErr);
    }

    [Fact]
    public void A_missing_file_is_one_error_line()
    {
        var ours = Diskimg.Run("io", "-c", "read 0 1", "/nonexistent/a.raw");
        Assert.Equal(1, ours.ExitCode);
        // qemu-io's wording.
        Assert.Equal("diskimg: can't open device /nonexistent/a.raw: Could not open '/nonexistent/a.raw': No such file or directory", ours.StdErr.Trim());
    }

    /// <summary>Output without the timing lines, which differ from run to run.</summary>
    private static string[] ResultLines(string output) =>
        [.. output.Split('\n').Where(l => l.Length > 0 && !l.Contains(" ops; ", StringComparison.Ordinal))];
}
