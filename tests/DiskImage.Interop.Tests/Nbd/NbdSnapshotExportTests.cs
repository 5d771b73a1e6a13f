using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// <c>diskimg nbd -l</c> (an internal snapshot, read-only) and <c>-s</c> (writes into a temporary overlay), judged by
/// qemu-io and qemu-img as clients and against what qemu-nbd does with the same options; and qemu-nbd's refusals of
/// <c>--tls-hostname</c> when serving.
/// </summary>
public class NbdSnapshotExportTests
{
    /// <summary>A qcow2 with snapshot "first" (0x11 in its first MiB), "second" (0x22) and current data 0x33 in the first 512 KiB.</summary>
    private static string ImageWithSnapshots(TempDirectory dir)
    {
        var image = dir.File("snap.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "8M");
        ExternalTool.QemuIo("-c", "write -P 0x11 0 1M", image);
        ExternalTool.QemuImg("snapshot", "-c", "first", image);
        ExternalTool.QemuIo("-c", "write -P 0x22 0 1M", "-c", "write -P 0x23 6M 64k", image);
        ExternalTool.QemuImg("snapshot", "-c", "second", image);
        ExternalTool.QemuIo("-c", "write -P 0x33 0 512k", image);
        return image;
    }

    [Theory]
    [InlineData("first", "0x11")]
    [InlineData("snapshot.name=second", "0x22")]
    [InlineData("snapshot.id=1", "0x11")]
    [InlineData("2", "0x22")]
    public void Load_snapshot_exports_the_snapshot_read_only_as_qemu_nbd_does(string selector, string pattern)
    {
        using var dir = new TempDirectory();
        var image = ImageWithSnapshots(dir);
        var before = SHA256.HashData(File.ReadAllBytes(image));
        string ourMap;
        using (var server = NbdProcess.Diskimg(dir.File("d.sock"), 0, "-t", "-l", selector, "-k", dir.File("d.sock"), image))
        {
            var uri = server.Uri();
            var read = ExternalTool.Run("qemu-io", "-r", "-f", "raw", "-c", $"read -P {pattern} 0 1M", uri);
            Assert.True(read.ExitCode == 0 && !read.StdOut.Contains("failed", StringComparison.Ordinal), read.StdOut + read.StdErr);

            // The export is read-only, as qemu-nbd -l makes it.
            var write = ExternalTool.Run("qemu-io", "-f", "raw", "-c", "write -P 0x99 0 4k", uri);
            Assert.NotEqual(0, write.ExitCode);
            ExternalTool.QemuImg("convert", "-f", "raw", "-O", "raw", uri, dir.File("ours.raw"));
            ourMap = ExternalTool.QemuImg("map", "--output=json", "-f", "raw", uri);
        }

        using (var reference = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, "-t", "-l", selector, "-k", dir.File("q.sock"), image))
        {
            ExternalTool.QemuImg("convert", "-f", "raw", "-O", "raw", reference.Uri(), dir.File("theirs.raw"));
            Assert.Equal(ExternalTool.QemuImg("map", "--output=json", "-f", "raw", reference.Uri()), ourMap);
        }

        Assert.Equal(File.ReadAllBytes(dir.File("theirs.raw")), File.ReadAllBytes(dir.File("ours.raw")));
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(image)));
    }

    [Fact]
    public void Load_snapshot_refuses_a_missing_snapshot_and_a_bad_key_in_qemu_nbds_words()
    {
        using var dir = new TempDirectory();
        var image = ImageWithSnapshots(dir);
        var missing = Diskimg.Run("nbd", "-l", "nosuch", "-k", dir.File("x.sock"), image);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("diskimg: Failed to load snapshot: Can't find snapshot", missing.StdErr.Trim());
        var qemu = ExternalTool.Run("qemu-nbd", "-l", "nosuch", "-k", dir.File("y.sock"), image);
        Assert.Equal(qemu.StdErr.Trim().Replace("qemu-nbd:", "diskimg:", StringComparison.Ordinal), missing.StdErr.Trim());

        var badKey = Diskimg.Run("nbd", "-l", "snapshot.foo=1", "-k", dir.File("x.sock"), image);
        var qemuBadKey = ExternalTool.Run("qemu-nbd", "-l", "snapshot.foo=1", "-k", dir.File("y.sock"), image);
        Assert.Equal(qemuBadKey.ExitCode, badKey.ExitCode);
        Assert.Equal(qemuBadKey.StdErr.Replace("qemu-nbd:", "diskimg:", StringComparison.Ordinal), badKey.StdErr);
    }

    [Fact]
    public void Tls_hostname_is_refused_when_serving_as_qemu_nbd_refuses_it()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        string[] arguments = ["--tls-hostname", "example.test", "-k", dir.File("s.sock"), "-f", "raw", image];
        var ours = Diskimg.Run(["nbd", .. arguments]);
        var theirs = ExternalTool.Run("qemu-nbd", arguments);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-nbd:", "diskimg:", StringComparison.Ordinal), ours.StdErr);

        // With credentials, qemu-nbd refuses it too: the name only serves its export-list client mode (qemu-nbd.c's words).
        var withCreds = Diskimg.Run("nbd", "--tls-hostname", "example.test", "--object", $"tls-creds-x509,id=t0,dir={dir.Path},endpoint=server",
            "--tls-creds", "t0", "-k", dir.File("s.sock"), "-f", "raw", image);
        Assert.Equal(1, withCreds.ExitCode);
        Assert.Equal("diskimg: TLS hostname is only supported with export list\n", withCreds.StdErr.Replace("\r", "", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("raw")]
    public void Snapshot_mode_takes_writes_in_a_temporary_overlay_and_leaves_the_image_untouched(string format)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk." + format);
        ExternalTool.QemuImg("create", "-q", "-f", format, image, "4M");
        ExternalTool.QemuIo("-f", format, "-c", "write -P 0x41 0 1M", image);
        var before = SHA256.HashData(File.ReadAllBytes(image));
        var overlaysBefore = Overlays();
        using (var server = NbdProcess.Diskimg(dir.File("s.sock"), 0, "-t", "-s", "-f", format, "-k", dir.File("s.sock"), image))
        {
            var uri = server.Uri();
            var write = ExternalTool.Run("qemu-io", "-f", "raw", "-c", "write -P 0x42 512k 1M", "-c", "write -z 3M 64k", "-c", "flush", uri);
            Assert.True(write.ExitCode == 0, write.StdErr);

            // A second client sees the writes: they live in the overlay while the server runs.
            var read = ExternalTool.Run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x41 0 512k", "-c", "read -P 0x42 512k 1M", "-c", "read -P 0 3M 64k", uri);
            Assert.True(read.ExitCode == 0 && !read.StdOut.Contains("failed", StringComparison.Ordinal), read.StdOut + read.StdErr);

            // No overlay file is left visible in the temporary directory while serving.
            Assert.Equal(overlaysBefore, Overlays());
            Assert.Equal(0, server.Stop());
        }

        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(image)));
        ExternalTool.QemuIo("-f", format, "-r", "-c", "read -P 0x41 0 1M", "-c", "read -P 0 1M 3M", image);
        Assert.Equal(overlaysBefore, Overlays());
        if (format == "qcow2")
        {
            Assert.Equal(0, ExternalTool.Run("qemu-img", "check", image).ExitCode);
        }
    }

    private static string[] Overlays() => [.. Directory.GetFiles(Path.GetTempPath(), "diskimg-nbd-snapshot-*").Order(StringComparer.Ordinal)];
}
