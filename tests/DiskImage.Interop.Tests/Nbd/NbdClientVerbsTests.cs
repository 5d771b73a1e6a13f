using System.Globalization;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// <c>dd</c>, <c>io</c> and <c>bench</c> on NBD URIs (TCP and Unix) against qemu-nbd, side by side with qemu-img
/// and qemu-io doing the same; and the client never reads a hole, judged by nbdkit's request log.
/// </summary>
public partial class NbdClientVerbsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Dd_io_and_bench_on_an_export_do_what_qemus_tools_do(bool unix)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "8M");
        ExternalTool.QemuIo("-c", "write -P 0x71 0 192k", "-c", "write -z 1M 64k", "-c", "write -P 0x72 5M 4k", image);
        var port = Loopback.FreePort();
        var portText = port.ToString(CultureInfo.InvariantCulture);
        using var server = unix
            ? NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, "-t", "-e", "0", "-f", "qcow2", "-k", dir.File("q.sock"), image)
            : NbdProcess.Tool("qemu-nbd", null, port, "-t", "-e", "0", "-f", "qcow2", "-b", "127.0.0.1", "-p", portText, image);
        var uri = server.Uri();

        // dd from the export.
        ExternalTool.QemuImg("dd", "-f", "raw", "-O", "raw", "bs=64k", "count=90", $"if={uri}", $"of={dir.File("qemu.raw")}");
        Diskimg.Ok("dd", "-f", "raw", "-O", "raw", "bs=64k", "count=90", $"if={uri}", $"of={dir.File("ours.raw")}");
        Assert.True(File.ReadAllBytes(dir.File("qemu.raw")).AsSpan().SequenceEqual(File.ReadAllBytes(dir.File("ours.raw"))));

        // io: writes and pattern reads, printed as qemu-io prints them.
        string[] commands = ["-c", "read -P 0x71 0 192k", "-c", "write -P 0x73 2M 8k", "-c", "read -v 2M 32", "-c", "read -P 0 1M 64k",
            "-c", "write -z 3M 4k", "-c", "read -P 0 3M 4k", "-c", "flush", "-c", "read -P 0x72 5M 4k"];
        var qemuIo = ExternalTool.Run("qemu-io", ["-f", "raw", .. commands, uri]);
        var ourIo = Diskimg.Run(["io", "-f", "raw", .. commands, uri]);
        Assert.Equal(qemuIo.ExitCode, ourIo.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(qemuIo.StdOut), QemuToolOutput.Normalise(ourIo.StdOut));
        Assert.DoesNotContain("fail", ourIo.StdOut, StringComparison.Ordinal);

        // bench: the same requests (the first line says which), reads and pattern writes.
        foreach (var extra in new[] { Array.Empty<string>(), ["-w", "--pattern=0x74", "-o", "6M"] })
        {
            string[] arguments = ["bench", "-f", "raw", "-c", "200", "-d", "8", .. extra, uri];
            var qemuBench = ExternalTool.Run("qemu-img", arguments);
            var ourBench = Diskimg.Run(arguments);
            Assert.True(qemuBench.ExitCode == 0 && ourBench.ExitCode == 0, ourBench.StdErr + qemuBench.StdErr);
            Assert.Equal(qemuBench.StdOut.Split('\n')[0], ourBench.StdOut.Split('\n')[0]);
        }

        ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0x74 6M 800k", uri);
    }

    /// <summary>
    /// nbdkit's file plugin over a sparse file reports its holes; convert (to qcow2 and to raw) and map must read
    /// only the data ranges written, as qemu-img does (checked on qemu-img's requests first).
    /// </summary>
    [Fact]
    public void Holes_on_the_server_are_never_read()
    {
        using var dir = new TempDirectory();
        var sparse = dir.File("sparse.raw");
        using (var file = File.Create(sparse))
        {
            file.SetLength(64 << 20);
        }

        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x41 0 64k", "-c", "write -P 0x42 40M 256k", sparse);
        (long Start, long End)[] data = [(0, 64 << 10), (40 << 20, (40 << 20) + (256 << 10))];
        var log = dir.File("requests.log");
        using var server = NbdProcess.Tool("nbdkit", dir.File("k.sock"), 0, "-f", "-U", dir.File("k.sock"), "--filter=log", "file", $"file={sparse}", $"logfile={log}");
        var uri = server.Uri();

        void AssertOnlyDataRead(string what, Action run, bool readsSomething = true)
        {
            var before = File.Exists(log) ? File.ReadAllLines(log).Length : 0;
            run();
            var reads = File.ReadAllLines(log).Skip(before).Select(l => ReadRequest().Match(l)).Where(m => m.Success)
                .Select(m => (Offset: long.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    Count: long.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToList();
            Assert.True(!readsSomething || reads.Count > 0, $"{what} read nothing");
            foreach (var (offset, count) in reads)
            {
                Assert.True(data.Any(d => offset >= d.Start && offset + count <= d.End), $"{what} read a hole: {offset:x}+{count:x}");
            }
        }

        AssertOnlyDataRead("qemu-img convert", () => ExternalTool.QemuImg("convert", "-O", "qcow2", uri, dir.File("qemu.qcow2")));
        AssertOnlyDataRead("convert -O qcow2", () => Diskimg.Ok("convert", "-O", "qcow2", uri, dir.File("ours.qcow2")));
        AssertOnlyDataRead("convert -O raw", () => Diskimg.Ok("convert", "-O", "raw", uri, dir.File("ours.raw")));
        AssertOnlyDataRead("map", () => Diskimg.Ok("map", "--output=json", uri), readsSomething: false);
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", dir.File("qemu.qcow2"), dir.File("ours.qcow2")), StringComparison.Ordinal);
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", "-f", "raw", "-F", "raw", sparse, dir.File("ours.raw")), StringComparison.Ordinal);
    }

    [GeneratedRegex(@" Read id=\d+ offset=0x([0-9a-f]+) count=0x([0-9a-f]+)")]
    private static partial Regex ReadRequest();
}
