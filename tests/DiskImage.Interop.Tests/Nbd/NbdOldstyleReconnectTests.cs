using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// The client against an oldstyle server (<c>nbdkit --oldstyle</c>), and the nbd driver's <c>reconnect-delay</c>
/// against a server killed while a request is outstanding. qemu-io and <c>diskimg io</c> run the same command lines
/// in the same situation; QEMU's output is the expectation.
/// </summary>
public class NbdOldstyleReconnectTests
{
    private static string Run(Func<string[], ExternalTool.Result> tool, params string[] arguments)
    {
        var result = tool(arguments);
        return $"exit {result.ExitCode}\n" + QemuToolOutput.Normalise(result.StdOut + result.StdErr);
    }

    private static ExternalTool.Result Qemu(string[] arguments) => ExternalTool.Run("qemu-io", arguments);

    private static ExternalTool.Result Ours(string[] arguments) => Diskimg.Run(["io", .. arguments]);

    [Fact]
    public void An_oldstyle_export_is_read_and_written_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var socket = dir.File("old.sock");
        var raw = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", raw, "4M");
        using var server = NbdProcess.Tool("nbdkit", socket, 0, "-f", "--oldstyle", "-U", socket, "file", $"file={raw}");
        // Write-back, as iotests run qemu-io: nbdkit's oldstyle mode advertises FUA but refuses it.
        string[] Commands(byte pattern) =>
            ["-t", "writeback", "-f", "raw", "-c", $"write -P {pattern} 64k 128k", "-c", $"read -P {pattern} 64k 128k", "-c", "read -P 0 0 64k", "-c", "length", server.Uri()];

        var qemu = Run(Qemu, Commands(0x21));
        var ours = Run(Ours, Commands(0x21));
        Assert.Equal(qemu, ours);
        Assert.StartsWith("exit 0\nwrote 131072/131072 bytes at offset 65536", ours, StringComparison.Ordinal);
        // What we wrote is on the server's file, where qemu-io reads it back.
        ExternalTool.QemuIo("-f", "raw", "-c", "read -P 0x21 64k 128k", raw);
    }

    [Fact]
    public void An_export_name_an_oldstyle_server_cannot_take_is_refused_in_qemu_ios_words()
    {
        using var dir = new TempDirectory();
        var socket = dir.File("old.sock");
        using var server = NbdProcess.Tool("nbdkit", socket, 0, "-f", "--oldstyle", "-U", socket, "memory", "1M");
        string[] arguments = ["-f", "raw", "-c", "read 0 512", server.Uri("named")];

        var qemu = Run(Qemu, arguments);
        var ours = Run(Ours, arguments);
        Assert.Equal(qemu, ours);
        Assert.Contains("Server does not support non-empty export names", ours, StringComparison.Ordinal);
    }

    /// <summary>
    /// Waits until the server's log filter (in front of its delay filter) has seen a <paramref name="request"/>: from
    /// then on the delay filter holds it, so it is outstanding; a little more covers the step from one filter to the next.
    /// </summary>
    private static void WaitForRequest(string log, string request)
    {
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(log) && File.ReadAllText(log).Contains($" {request} id=", StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the server saw no {request} request in 60 s");
            Thread.Sleep(50);
        }

        Thread.Sleep(200);
    }

    private static string[] DelayArguments(string socket, int delay, params string[] commands) =>
        ["--image-opts", .. commands.SelectMany(c => new[] { "-c", c }), $"driver=nbd,server.type=unix,server.path={socket},reconnect-delay={delay}"];

    /// <summary>
    /// A write is outstanding (the server's delay filter holds it) when the server is killed; a new server on the
    /// same file comes up within the delay, and the write is sent again there.
    /// </summary>
    [Fact]
    public void A_request_outstanding_when_the_server_dies_is_sent_again_to_its_successor()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("disk.raw");

        string Side(string name, Func<string[], ExternalTool.Result> tool)
        {
            ExternalTool.QemuImg("create", "-q", "-f", "raw", raw, "4M");
            var socket = dir.File($"{name}.sock");
            var log = dir.File($"{name}.log");
            var slow = NbdProcess.Tool("nbdkit", socket, 0, "-f", "-U", socket, "--filter=log", "--filter=delay", "file", $"file={raw}", "wdelay=8", $"logfile={log}");
            var client = Task.Run(() => Run(tool, DelayArguments(socket, 15, "write -P 0x5a 0 64k", "read -P 0x5a 0 64k")));
            // The write must be held by the server when it dies.
            WaitForRequest(log, "Write");
            slow.Dispose();
            File.Delete(socket);
            using var successor = NbdProcess.Tool("nbdkit", socket, 0, "-f", "-U", socket, "file", $"file={raw}");
            var output = client.GetAwaiter().GetResult();
            ExternalTool.QemuIo("-f", "raw", "-c", "read -P 0x5a 0 64k", raw);
            return output;
        }

        var qemu = Side("qemu", Qemu);
        var ours = Side("ours", Ours);
        Assert.Equal(qemu, ours);
        Assert.StartsWith("exit 0\nwrote 65536/65536 bytes at offset 0", ours, StringComparison.Ordinal);
    }

    /// <summary>With no server coming back, the outstanding request fails once the delay has passed, not before.</summary>
    [Fact]
    public void A_request_fails_with_eio_once_the_delay_has_passed()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", raw, "4M");
        const int Delay = 2;

        (string Output, TimeSpan Time) Side(string name, Func<string[], ExternalTool.Result> tool)
        {
            var socket = dir.File($"{name}.sock");
            var log = dir.File($"{name}.log");
            var slow = NbdProcess.Tool("nbdkit", socket, 0, "-f", "-U", socket, "--filter=log", "--filter=delay", "file", $"file={raw}", "rdelay=8", $"logfile={log}");
            var clock = Stopwatch.StartNew();
            var client = Task.Run(() => Run(tool, DelayArguments(socket, Delay, "read 0 64k", "read 64k 64k")));
            // The read must be held by the server when it dies.
            WaitForRequest(log, "Read");
            slow.Dispose();
            var killedAt = clock.Elapsed;
            var output = client.GetAwaiter().GetResult();
            return (output, clock.Elapsed - killedAt);
        }

        var qemu = Side("qemu", Qemu);
        var ours = Side("ours", Ours);
        Assert.Equal(qemu.Output, ours.Output);
        Assert.Contains("read failed: Input/output error", ours.Output, StringComparison.Ordinal);
        Assert.True(ours.Time >= TimeSpan.FromSeconds(Delay - 0.2), $"diskimg gave up {ours.Time} after the server died");
        Assert.True(ours.Time < TimeSpan.FromSeconds(Delay + 3), $"diskimg gave up {ours.Time} after the server died");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1x")]
    [InlineData("")]
    public void A_delay_that_is_no_number_is_refused_in_qemu_ios_words(string delay)
    {
        using var dir = new TempDirectory();
        string[] arguments = ["--image-opts", "-c", "read 0 512", $"driver=nbd,server.type=unix,server.path={dir.File("absent.sock")},reconnect-delay={delay}"];
        var qemu = Run(Qemu, arguments);
        var ours = Run(Ours, arguments);
        Assert.Equal(qemu, ours);
        Assert.Contains("Parameter 'reconnect-delay' expects a number", ours, StringComparison.Ordinal);
    }
}
