using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// Commands that write into an existing image, interrupted at random points: <c>convert -n</c> must leave its qcow2
/// target marked as not cleanly closed (qemu-img's <c>cleanly shut down: no</c>) until a run completes, and
/// <c>check -r</c> and <c>amend</c> must stop on SIGINT/SIGTERM mid-write without leaving anything qemu-img calls a
/// corruption (leaked clusters are allowed, as after an interrupted QEMU).
/// </summary>
public sealed class InPlaceInterruptionTests(LargeSource source, SmallClusterImages images) : IClassFixture<LargeSource>, IClassFixture<SmallClusterImages>
{
    private const string NotClean = "cleanly shut down: no";

    [Theory]
    [InlineData(DiskimgProcess.SIGINT)]
    [InlineData(DiskimgProcess.SIGTERM)]
    [InlineData(DiskimgProcess.SIGKILL)]
    public void Convert_n_interrupted_leaves_the_qcow2_target_marked_until_a_complete_run(int signal)
    {
        using var dir = new TempDirectory();
        var target = dir.File("target.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", target, LargeSource.Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var initialLength = new FileInfo(target).Length;
        using (var process = DiskimgProcess.Start(dir.Path, onTerminal: false, "convert", "-n", "-f", "raw", "-O", "qcow2", source.Path, target))
        {
            // Wait until data is being written into the target, then a random while longer.
            var started = DateTime.UtcNow;
            while (!process.HasExited && new FileInfo(target).Length < initialLength + (8 << 20) && DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(2);
            }

            Thread.Sleep(Random.Shared.Next(0, 300));
            process.Signal(signal);
            var result = process.WaitForExit(TimeSpan.FromSeconds(120));
            if (result.ExitCode == 0)
            {
                Assert.DoesNotContain(NotClean, ExternalTool.QemuImg("info", target), StringComparison.Ordinal);
                ExternalTool.QemuImg("compare", "-f", "raw", "-F", "qcow2", source.Path, target);
                return;
            }

            Assert.Equal(128 + signal, result.ExitCode);
        }

        // Interrupted: QEMU and diskimg both show the target as not cleanly closed, and it is not corrupt.
        Assert.Contains(NotClean, ExternalTool.QemuImg("info", target), StringComparison.Ordinal);
        Assert.Contains("\"dirty-flag\": true", ExternalTool.QemuImg("info", "--output=json", target), StringComparison.Ordinal);
        Assert.Contains(NotClean, Diskimg.Ok("info", target), StringComparison.Ordinal);
        AssertNoCorruption(target);

        // A complete run leaves it clean and equal to the source.
        Diskimg.Ok("convert", "-n", "-f", "raw", "-O", "qcow2", source.Path, target);
        Assert.DoesNotContain(NotClean, ExternalTool.QemuImg("info", target), StringComparison.Ordinal);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", target).ExitCode);
        ExternalTool.QemuImg("compare", "-f", "raw", "-F", "qcow2", source.Path, target);
    }

    [Fact]
    public void Convert_n_that_completes_leaves_the_target_clean()
    {
        using var dir = new TempDirectory();
        var target = dir.File("target.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", target, "64M");
        var input = dir.File("input.raw");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x3c 1M 5M", CreateRaw(input, 64 << 20));
        Diskimg.Ok("convert", "-n", "-f", "raw", "-O", "qcow2", input, target);
        Assert.DoesNotContain(NotClean, ExternalTool.QemuImg("info", target), StringComparison.Ordinal);
        Assert.Contains("\"dirty-flag\": false", ExternalTool.QemuImg("info", "--output=json", target), StringComparison.Ordinal);
        ExternalTool.QemuImg("compare", "-f", "raw", "-F", "qcow2", input, target);
    }

    [Theory]
    [InlineData(DiskimgProcess.SIGINT)]
    [InlineData(DiskimgProcess.SIGTERM)]
    public void Check_repair_interrupted_leaves_leaks_at_worst(int signal)
    {
        var duration = Duration(images.Leaky, "check", "-r", "all");
        var interrupted = 0;
        for (var round = 0; round < 4; round++)
        {
            using var dir = new TempDirectory();
            var image = dir.File("leaky.qcow2");
            File.Copy(images.Leaky, image);
            var result = RunAndInterrupt(dir, image, signal, duration, "check", "-r", "all", image);
            interrupted += WasCancelled(result) ? 1 : 0;
            duration = result.ExitCode == 0 ? duration / 2 : duration;
            var check = ExternalTool.Run("qemu-img", "check", image);
            Assert.True(check.ExitCode is 0 or 3, $"qemu-img check exit {check.ExitCode} after diskimg exit {result.ExitCode}: {Tail(check.StdOut)}");
            Assert.DoesNotContain("ERROR", check.StdOut + check.StdErr, StringComparison.Ordinal);
            if (result.ExitCode == 0)
            {
                Assert.Equal(0, check.ExitCode);
            }

            ExternalTool.QemuImg("compare", "-f", "qcow2", "-F", "qcow2", images.Leaky, image);
        }

        Assert.True(interrupted > 0, "no round was interrupted; the test did not exercise cancellation");
    }

    [Theory]
    [InlineData(DiskimgProcess.SIGINT, "64")]
    [InlineData(DiskimgProcess.SIGTERM, "1")]
    public void Amend_refcount_width_interrupted_leaves_leaks_at_worst(int signal, string width)
    {
        var duration = Duration(images.Clean, "amend", "-o", $"refcount_bits={width}");
        var interrupted = 0;
        for (var round = 0; round < 4; round++)
        {
            using var dir = new TempDirectory();
            var image = dir.File("image.qcow2");
            File.Copy(images.Clean, image);
            var result = RunAndInterrupt(dir, image, signal, duration, "amend", "-o", $"refcount_bits={width}", image);
            interrupted += WasCancelled(result) ? 1 : 0;
            duration = result.ExitCode == 0 ? duration / 2 : duration;
            var check = ExternalTool.Run("qemu-img", "check", image);
            Assert.True(check.ExitCode is 0 or 3, $"qemu-img check exit {check.ExitCode} after diskimg exit {result.ExitCode}: {Tail(check.StdOut)}");
            Assert.DoesNotContain("ERROR", check.StdOut + check.StdErr, StringComparison.Ordinal);
            var bits = ExternalTool.QemuImg("info", image);
            Assert.Contains(result.ExitCode == 0 ? $"refcount bits: {width}" : "refcount bits:", bits, StringComparison.Ordinal);
            ExternalTool.QemuImg("compare", "-f", "qcow2", "-F", "qcow2", images.Clean, image);
        }

        Assert.True(interrupted > 0, "no round was interrupted; the test did not exercise cancellation");
    }

    /// <summary>
    /// How long the command works on a copy of <paramref name="original"/> (the last argument): from the moment it
    /// holds the image's locks to its exit, so that process start-up (slow on a loaded machine) is not counted.
    /// </summary>
    private static TimeSpan Duration(string original, params string[] arguments)
    {
        using var dir = new TempDirectory();
        var image = dir.File("timed.qcow2");
        File.Copy(original, image);
        using var process = DiskimgProcess.Start(dir.Path, onTerminal: false, [.. arguments, image]);
        WaitUntilLocked(process, image);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        process.WaitForExit(TimeSpan.FromSeconds(120)).EnsureSuccess("diskimg " + string.Join(' ', arguments));
        return clock.Elapsed;
    }

    private static void WaitUntilLocked(DiskimgProcess process, string image)
    {
        var started = DateTime.UtcNow;
        while (!process.HasExited && LockTable.HeldBytes(image).Count == 0 && DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(1);
        }
    }

    /// <summary>
    /// Runs diskimg, waits until it has <paramref name="image"/> open (its QEMU locks are taken), sends
    /// <paramref name="signal"/> after a random part of the command's usual <paramref name="duration"/>, and checks
    /// its exit status and line.
    /// </summary>
    private static ExternalTool.Result RunAndInterrupt(TempDirectory dir, string image, int signal, TimeSpan duration, params string[] arguments)
    {
        using var process = DiskimgProcess.Start(dir.Path, onTerminal: false, arguments);
        WaitUntilLocked(process, image);
        Thread.Sleep(Random.Shared.Next(0, Math.Max(1, (int)(duration.TotalMilliseconds * 0.6))));
        process.Signal(signal);
        var result = process.WaitForExit(TimeSpan.FromSeconds(120));
        if (result.ExitCode != 0)
        {
            Assert.True(result.ExitCode == 128 + signal, $"exit {result.ExitCode}: {result.StdErr}");
            // A signal that lands once the work is done, while the process exits with its handlers gone, takes the
            // signal's default action and prints nothing; otherwise the cancelled operation says so in one line.
            if (result.StdErr.Length > 0)
            {
                Assert.Contains($"diskimg: interrupted by {(signal == DiskimgProcess.SIGINT ? "SIGINT" : "SIGTERM")}", result.StdErr, StringComparison.Ordinal);
            }
        }

        return result;
    }

    /// <summary>Whether the signal cancelled the operation (its line printed), not just ended a finished process.</summary>
    private static bool WasCancelled(ExternalTool.Result result) => result.ExitCode != 0 && result.StdErr.Contains("diskimg: interrupted by", StringComparison.Ordinal);

    private static string CreateRaw(string path, long size)
    {
        using var stream = File.Create(path);
        stream.SetLength(size);
        return path;
    }

    private static void AssertNoCorruption(string image)
    {
        var check = ExternalTool.Run("qemu-img", "check", image);
        Assert.True(check.ExitCode is 0 or 3, $"qemu-img check exit {check.ExitCode}: {Tail(check.StdOut)}");
    }

    private static string Tail(string text) => text.Length > 2000 ? text[^2000..] : text;
}
