using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// Sizes a format cannot hold are refused with qemu-img's message and exit code, and no file is left behind
/// (QEMU's test 054). Sizes past 2^63 get qemu-img's range message.
/// </summary>
public class CreateSizeBoundInteropTests
{
    [Theory]
    [InlineData("qcow2", "1E", "")]
    [InlineData("qcow2", "3P", "")]
    [InlineData("qcow2", "8191P", "")]
    [InlineData("qcow2", "1P", "cluster_size=4k")]
    [InlineData("qcow2", "64T", "cluster_size=512")]
    [InlineData("raw", "1E", "")]
    [InlineData("raw", "1P", "")]
    [InlineData("qcow2", "8E", "")]
    [InlineData("raw", "16E", "")]
    [InlineData("qcow2", "18446744073709551616", "")]
    public void Too_large_sizes_are_refused_like_qemu_img_and_leave_no_file(string format, string size, string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours." + format);
        var theirs = dir.File("theirs." + format);
        string[] extra = options.Length > 0 ? ["-o", options] : [];

        var expected = ExternalTool.Run("qemu-img", ["create", "-q", "-f", format, .. extra, theirs, size]);
        var actual = Diskimg.Run(["create", "-q", "-f", format, .. extra, ours, size]);

        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.NotEqual(0, actual.ExitCode);
        Assert.Equal(expected.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal).Replace(theirs, ours, StringComparison.Ordinal).Trim(), actual.StdErr.Trim());
        Assert.False(File.Exists(ours), "a refused create must leave no file");
    }

    /// <summary>
    /// Preallocation of a size the host file system cannot hold (ext4 stops at 16 TiB) fails at once with qemu-img's
    /// line, before anything is written: it used to write zeroes until the disk was full.
    /// </summary>
    [Theory]
    [InlineData("raw", "preallocation=falloc")]
    [InlineData("raw", "preallocation=full")]
    [InlineData("qcow2", "cluster_size=2M,preallocation=falloc")]
    [InlineData("qcow2", "cluster_size=2M,preallocation=full")]
    public void Preallocating_more_than_the_file_system_holds_fails_at_once_like_qemu_img(string format, string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours." + format);
        var theirs = dir.File("theirs." + format);
        var expected = ExternalTool.Run("qemu-img", ["create", "-q", "-f", format, "-o", options, theirs, "100T"]);
        if (expected.ExitCode == 0)
        {
            // A file system that holds 100 TiB files (xfs, btrfs) has nothing to refuse here.
            return;
        }

        var started = DateTime.UtcNow;
        var actual = Diskimg.Run(["create", "-q", "-f", format, "-o", options, ours, "100T"]);

        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal).Replace(theirs, ours, StringComparison.Ordinal).Trim(), actual.StdErr.Trim());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "the refusal must come before any data is written");
        Assert.False(File.Exists(ours), "a refused create must leave no file");
    }

    [Fact]
    public void The_largest_size_qemu_img_accepts_with_64k_clusters_is_accepted()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        Diskimg.Ok("create", "-q", "-f", "qcow2", ours, "2P");
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Contains("virtual size: 2 PiB (2251799813685248 bytes)", ExternalTool.QemuImg("info", ours), StringComparison.Ordinal);
    }
}
