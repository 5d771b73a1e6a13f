using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// What an export's size and minimum block mean to a client, judged by qemu-img against qemu-nbd: block status of a
/// file qemu-nbd rounded up to its minimum block (iotest 241's case) and an image whose creation would have to grow
/// the export (iotest 259's).
/// </summary>
public class NbdExportLimitsTests
{
    [Fact]
    public void Block_status_below_the_minimum_block_reads_as_qemu_img_reads_it()
    {
        using var dir = new TempDirectory();
        var file = dir.File("unaligned.raw");
        // 1000 bytes of data: qemu-nbd exports 1024 with a 512-byte minimum block and reports the last 24 as a hole.
        File.WriteAllBytes(file, [.. Enumerable.Range(0, 1000).Select(i => (byte)(i % 251 + 1))]);
        using var server = NbdProcess.Tool("qemu-nbd", dir.File("s.sock"), 0, "-t", "-r", "-f", "raw", "-k", dir.File("s.sock"), file);
        foreach (var output in new[] { "json", "human" })
        {
            string[] arguments = ["map", "-f", "raw", "--output=" + output, server.Uri()];
            var theirs = ExternalTool.Run("qemu-img", arguments);
            var ours = Diskimg.Run(arguments);
            Assert.Equal(0, theirs.ExitCode);
            Assert.Equal(theirs.StdOut, ours.StdOut);
            Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
        }
    }

    [Theory]
    [InlineData("metadata")]
    [InlineData("falloc")]
    [InlineData("full")]
    public void Creating_an_image_that_would_grow_the_export_fails_as_in_qemu_img(string preallocation)
    {
        using var dir = new TempDirectory();
        var theirs = Attempt(dir, "qemu-img", preallocation);
        var ours = Attempt(dir, "diskimg", preallocation);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.StdErr, ours.StdErr);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Contains("Cannot grow NBD nodes", ours.StdErr, StringComparison.Ordinal);
    }

    /// <summary>qcow2 created with preallocation on a fresh 64 MiB export of its own, the socket's path normalised.</summary>
    private static ExternalTool.Result Attempt(TempDirectory dir, string tool, string preallocation)
    {
        var file = dir.File(tool + ".raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", file, "64M");
        var socket = dir.File(tool + ".sock");
        using var server = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-f", "raw", "-k", socket, file);
        string[] arguments = ["create", "-f", "qcow2", "-o", "preallocation=" + preallocation, server.Uri(), "64M"];
        var run = tool == "qemu-img" ? ExternalTool.Run("qemu-img", arguments) : Diskimg.Run(arguments);
        return run with { StdOut = run.StdOut.Replace(socket, "SOCK", StringComparison.Ordinal), StdErr = QemuToolOutput.Normalise(run.StdErr.Replace(socket, "SOCK", StringComparison.Ordinal)) };
    }
}
