using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Nbd;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// qemu's legacy NBD names (<c>nbd:unix:PATH[:exportname=NAME]</c>, <c>nbd:HOST:PORT</c>), as iotest 058 passes them
/// to qemu-io: qemu-io 7.2 and <c>diskimg io</c> read the same qemu-nbd export and print the same.
/// </summary>
public partial class QemuIoLegacyNbdInteropTests
{
    [Fact]
    public void Legacy_unix_names_read_an_export_as_qemu_io_reads_it()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        using var server = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, "-t", "-r", "-f", "qcow2", "-k", dir.File("q.sock"), image);

        foreach (var name in new[] { $"nbd:unix:{server.Socket}", $"nbd:unix:{server.Socket}:exportname=", $"nbd:unix:{server.Socket}:exportname=missing", $"nbd:unix:{dir.File("absent.sock")}", "nbd:", "nbd:unix:" })
        {
            AssertSame(name, ["-f", "raw", "-r", "-c", "read -P 0xa 0x1000 0x1000", "-c", "read -P 0 0 0x1000", name]);
        }
    }

    [Fact]
    public void Legacy_tcp_names_read_an_export_as_qemu_io_reads_it()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        var port = Loopback.FreePort();
        using var server = NbdProcess.Tool("qemu-nbd", null, port, "-t", "-r", "-f", "qcow2", "-b", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), image);

        foreach (var name in new[] { $"nbd:127.0.0.1:{port}", $"nbd:127.0.0.1:{port}:exportname=", "nbd:127.0.0.1" })
        {
            AssertSame(name, ["-f", "raw", "-r", "-c", "read -P 0xa 0x1000 0x1000", name]);
        }
    }

    private static string MakeImage(TempDirectory dir)
    {
        var image = dir.File("t.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "1M");
        ExternalTool.QemuIo("-c", "write -P 0xa 0x1000 0x1000", image);
        return image;
    }

    private static void AssertSame(string name, string[] arguments)
    {
        var theirs = ExternalTool.Run("qemu-io", arguments);
        var ours = Diskimg.Run(["io", .. arguments]);
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{name}: exit {theirs.ExitCode} vs {ours.ExitCode}\n{theirs.StdErr}\n{ours.StdErr}");
        Assert.Equal(Normalise(theirs.StdOut), Normalise(ours.StdOut));
        Assert.Equal(Normalise(theirs.StdErr), Normalise(ours.StdErr));
    }

    private static string Normalise(string text) => QemuToolOutput.Normalise(text);
}
