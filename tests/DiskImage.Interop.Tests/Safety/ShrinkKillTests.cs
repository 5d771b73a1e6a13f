using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// <c>resize --shrink</c> of a qcow2 image killed at the writes it makes: strace delivers SIGKILL on entering the
/// N-th writing system call (pwrite, fallocate, ftruncate), for the N of <see cref="KillPoints"/> (every N, so every
/// point between two writes, with <c>DISKIMG_FULL_SWEEPS=1</c>; else each kind of boundary between two writes, first and
/// last, and a seeded few) and then on until a run completes. QEMU judges each result: <c>qemu-img check</c> finds no corruption
/// (leaked clusters are allowed, as after a crashed QEMU) and the data below the new size reads back unchanged.
/// </summary>
public sealed class ShrinkKillTests
{
    private const string WritingCalls = "pwrite64,pwritev,pwritev2,fallocate,ftruncate";

    [Fact]
    public void Sigkill_at_each_write_of_a_qcow2_shrink_leaves_a_consistent_image()
    {
        var strace = ExternalTool.Require("strace");
        using var dir = new TempDirectory();

        // 4 KiB clusters: 32 L2 tables (2 MiB each) and a refcount block per 8 MiB of file, so the shrink from 64 MiB
        // to 16 MiB drops whole L2 tables, frees data in part of one, and leaves several refcount blocks counting nothing.
        var original = dir.File("original.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", original, "64M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x5a 0 8M", "-c", "write -P 0x6b 12M 20M", "-c", "write -P 0x7c 40M 20M", original);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", original).ExitCode);
        var info = ExternalTool.QemuImg("info", "--output=json", original);
        Assert.True(new FileInfo(original).Length > 5 * (8 << 20), "the image has fewer refcount blocks than meant");

        // What the first 16 MiB hold, read with qemu-io after every crash.
        string[] reads = ["-c", "read -P 0x5a 0 8M", "-c", "read -P 0 8M 4M", "-c", "read -P 0x6b 12M 4M"];
        var probe = dir.File("probe.qcow2");
        File.Copy(original, probe);
        var points = KillPoints.Trace(strace, WritingCalls, [.. DiskimgCommand(), "resize", "--shrink", "-f", "qcow2", probe, "16M"], 16);
        File.Delete(probe);

        var killed = 0;
        var completed = false;
        foreach (var n in points.Points(1000))
        {
            if (completed)
            {
                break;
            }

            var image = dir.File($"kill{n}.qcow2");
            File.Copy(original, image);
            var run = ExternalTool.Run(strace, ["-f", "-qq", "-o", "/dev/null", "-e", $"trace={WritingCalls}", "-e", $"inject={WritingCalls}:signal=KILL:when={n}",
                .. DiskimgCommand(), "resize", "--shrink", "-f", "qcow2", image, "16M"]);
            if (run.ExitCode == 0)
            {
                completed = true;
            }
            else
            {
                Assert.True(run.ExitCode == 128 + DiskimgProcess.SIGKILL, $"kill at write {n}: exit {run.ExitCode}: {run.StdErr}");
                killed++;
            }

            var check = ExternalTool.Run("qemu-img", "check", image);
            Assert.True(check.ExitCode is 0 or 3, $"kill at write {n}: qemu-img check exit {check.ExitCode}: {check.StdOut}{check.StdErr}");
            Assert.DoesNotContain("ERROR", check.StdOut + check.StdErr, StringComparison.Ordinal);
            var read = ExternalTool.Run("qemu-io", ["-f", "qcow2", .. reads, image]);
            Assert.True(read.ExitCode == 0 && !read.StdOut.Contains("failed", StringComparison.Ordinal) && read.StdErr.Length == 0,
                $"kill at write {n}: data below the new size changed: {read.StdOut}{read.StdErr}");

            // Whatever the crash left, a shrink run again completes, and the result is clean apart from leaks.
            Diskimg.Ok("resize", "--shrink", "-f", "qcow2", image, "16M");
            var after = ExternalTool.Run("qemu-img", "check", image);
            Assert.True(after.ExitCode is 0 or 3, $"kill at write {n}, shrunk again: qemu-img check exit {after.ExitCode}: {after.StdOut}{after.StdErr}");
            Assert.Contains("virtual size: 16 MiB", ExternalTool.QemuImg("info", image), StringComparison.Ordinal);
            ExternalTool.QemuIo(["-f", "qcow2", .. reads, image]);
            File.Delete(image);
        }

        Assert.True(completed, "the shrink never completed");
        Assert.True(points.Sweep >= 20, $"only {points.Sweep} crash points in a full sweep: the shrink did less than meant");
        Assert.True(killed >= Math.Min(20, points.PointsOnCalls), $"only {killed} writes were crash points: the shrink did less than meant");
        Assert.Contains("\"virtual-size\": 67108864", info, StringComparison.Ordinal);
    }

    /// <summary>The built diskimg as a command line of its own.</summary>
    private static string[] DiskimgCommand() =>
    [
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet",
        Path.Combine(AppContext.BaseDirectory, "diskimg.dll"),
    ];
}
