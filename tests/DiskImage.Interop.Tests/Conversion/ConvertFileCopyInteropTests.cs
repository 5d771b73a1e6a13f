using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Conversion;

/// <summary>
/// With <c>-C</c>, into a raw target, convert copies the data it has scanned from the source's file inside the kernel
/// (<c>copy_file_range</c>) instead of writing it from its buffer. The result must still be qemu-img's, byte for byte
/// and block for block, from every layer of a chain, and a source shortened under the copy must not bring it down.
/// </summary>
public class ConvertFileCopyInteropTests
{
    [Theory]
    [InlineData("64k")]
    [InlineData("4k")]
    public void Qcow2_chain_to_raw_gives_qemu_img_bytes_and_allocation(string clusterSize)
    {
        using var dir = new TempDirectory();
        var bottom = dir.File("bottom.qcow2");
        var middle = dir.File("middle.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize, bottom, "24M");
        QemuIo(bottom, "write -P 0x11 0 6M", "write -P 0x12 7M 3M", "write -z 12M 1M", "write -P 0x13 20M 2M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "bottom.qcow2", "-F", "qcow2", middle);
        QemuIo(middle, "write -P 0x21 1M 64k", "write -P 0x22 2047k 3M", "write -z 8M 256k", "write -P 0x23 13M 4k");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize, "-b", "middle.qcow2", "-F", "qcow2", top);
        QemuIo(top, "write -P 0x31 0 1k", "write -P 0x32 5M 1M", "discard 20M 64k", "write -P 0 21M 512k");
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");
        ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "raw", top, theirs);

        Diskimg.Ok("convert", "-C", "-f", "qcow2", "-O", "raw", top, ours);

        Assert.Equal(Hash(theirs), Hash(ours));
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", "-f", "raw", theirs), ExternalTool.QemuImg("map", "--output=json", "-f", "raw", ours));
    }

    [Fact]
    public void A_source_shortened_while_it_is_copied_does_not_crash_the_copy()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("data.raw");
        File.WriteAllBytes(raw, RandomNumberGenerator.GetBytes(96 << 20));
        var source = dir.File("source.qcow2");
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", raw, source);
        File.Delete(raw);
        var length = new FileInfo(source).Length;

        using var process = DiskimgProcess.Start(dir.Path, onTerminal: false, "convert", "-C", "-f", "qcow2", "-O", "raw", "source.qcow2", "out.raw");
        var started = DateTime.UtcNow;
        while (!process.HasExited && !Directory.EnumerateFiles(dir.Path, ".out.raw*").Any() && DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(2);
        }

        using (var file = File.Open(source, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            // Another program cutting the file short (QEMU's locks are advisory): data clusters past the cut are gone.
            file.SetLength(length / 3);
        }

        var result = process.WaitForExit(TimeSpan.FromSeconds(120));

        // Either the copy finished (what was cut reads as zeroes, as qemu-img reads a shrunk file) or it failed with a
        // message; a signal (SIGBUS from a mapping, say) or an unhandled exception is what must never happen.
        Assert.True(result.ExitCode is 0 or 1, $"exit {result.ExitCode}: {result.StdErr}");
        Assert.DoesNotContain("Unhandled", result.StdErr, StringComparison.Ordinal);
        if (result.ExitCode == 0)
        {
            Assert.Equal(96L << 20, new FileInfo(dir.File("out.raw")).Length);
        }
        else
        {
            Assert.False(File.Exists(dir.File("out.raw")));
        }

        Assert.Empty(Directory.EnumerateFiles(dir.Path, ".out.raw*"));
    }

    private static void QemuIo(string path, params string[] commands)
    {
        var arguments = new List<string> { "-f", "qcow2" };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(path);
        ExternalTool.Run("qemu-io", [.. arguments]).EnsureSuccess("qemu-io");
    }

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
