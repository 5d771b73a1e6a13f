using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// The nbd driver's <c>open-timeout</c>: while opening, a missing server is tried again until the timeout has passed.
/// qemu-io and <c>diskimg io</c> on the same <c>--image-opts</c> command lines: the same output and exit code, the
/// same wait before giving up, and a server that comes up within the timeout is used by both.
/// </summary>
public class NbdOpenTimeoutTests
{
    private static string[] Arguments(string socket, string timeout) =>
        ["--image-opts", "-c", "read 0 64k", $"driver=nbd,open-timeout={timeout},server.type=unix,server.path={socket}"];

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void A_server_that_never_comes_is_waited_for_as_long_as_qemu_io_waits(int seconds)
    {
        using var dir = new TempDirectory();
        var socket = dir.File("absent.sock");
        var timeout = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var clock = Stopwatch.StartNew();
        var qemu = ExternalTool.Run("qemu-io", Arguments(socket, timeout));
        var qemuTime = clock.Elapsed;
        clock.Restart();
        var ours = Diskimg.Run(["io", .. Arguments(socket, timeout)]);
        var ourTime = clock.Elapsed;

        Assert.Equal(qemu.ExitCode, ours.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(qemu.StdOut + qemu.StdErr), QemuToolOutput.Normalise(ours.StdOut + ours.StdErr));
        // Both give up once the timeout has passed, not before (and not a retry period later).
        Assert.True(qemuTime >= TimeSpan.FromSeconds(seconds), $"qemu-io gave up after {qemuTime}");
        Assert.True(ourTime >= TimeSpan.FromSeconds(seconds), $"diskimg gave up after {ourTime}");
        Assert.True(ourTime < TimeSpan.FromSeconds(seconds + 1.5), $"diskimg gave up after {ourTime}");
    }

    [Fact]
    public void A_server_that_comes_within_the_timeout_is_used()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "1M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x3c 0 64k", image);

        string Read(string side, Func<string[], ExternalTool.Result> run)
        {
            var socket = dir.File($"{side}.sock");
            var client = Task.Run(() => run(Arguments(socket, "6")));
            Thread.Sleep(1500);
            using var server = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-k", socket, "-f", "qcow2", image);
            var result = client.GetAwaiter().GetResult();
            return $"exit {result.ExitCode}\n" + QemuToolOutput.Normalise(result.StdOut + result.StdErr);
        }

        var qemu = Read("qemu", args => ExternalTool.Run("qemu-io", args));
        var ours = Read("ours", args => Diskimg.Run(["io", .. args]));
        Assert.Equal(qemu, ours);
        Assert.StartsWith("exit 0\nread 65536/65536 bytes at offset 0", ours, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1x")]
    [InlineData("")]
    public void A_timeout_that_is_no_number_is_refused_in_qemu_ios_words(string timeout)
    {
        using var dir = new TempDirectory();
        var socket = dir.File("absent.sock");
        var qemu = ExternalTool.Run("qemu-io", Arguments(socket, timeout));
        var ours = Diskimg.Run(["io", .. Arguments(socket, timeout)]);
        Assert.Equal(qemu.ExitCode, ours.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(qemu.StdOut + qemu.StdErr), QemuToolOutput.Normalise(ours.StdOut + ours.StdErr));
    }
}
