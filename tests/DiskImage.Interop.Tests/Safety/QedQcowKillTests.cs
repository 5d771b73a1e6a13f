using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// Writes to QED and qcow (version 1) images killed at their writing system calls: strace delivers SIGKILL on entering
/// the N-th write (pwrite, fallocate, ftruncate, rename), for the N of <see cref="KillPoints"/> (every N with
/// <c>DISKIMG_FULL_SWEEPS=1</c>; else each kind of boundary between two writes, first and last, and a seeded few) and
/// then on until a run completes. QEMU judges each
/// result: a QED image passes <c>qemu-img check</c> with at most leaked clusters (qemu-img has no check for qcow), and
/// every 512-byte sector, read by qemu-img, holds what it held before the writes or after some of them in order, never
/// anything else. A second run then completes and leaves the image holding every write. A killed convert leaves either
/// nothing under the target's name or the whole image.
/// </summary>
public sealed class QedQcowKillTests
{
    private const string WritingCalls = TracedWriteCalls.WritingCalls;
    private const long Size = 4L << 20;

    /// <summary>
    /// The writes each run makes, in order: partial clusters, a run from a new cluster into an allocated one, and a new
    /// L2 table's span (qcow images over a backing file have 512-byte clusters, so every sector there is an allocation).
    /// </summary>
    private static readonly PatternWrites s_writes = new(
        [(0x22, 62 << 10, 6 << 10), (0x33, 1000, 3000), (0x44, (3L << 20) + 512, 2 << 10), (0x55, 8 << 10, 4 << 10)]);

    [Theory]
    [InlineData("qed", false)]
    [InlineData("qed", true)]
    [InlineData("qcow", false)]
    [InlineData("qcow", true)]
    public void Sigkill_at_each_write_of_diskimg_io_leaves_old_or_new_sectors(string format, bool withBacking)
    {
        var strace = ExternalTool.Require("strace");
        using var dir = new TempDirectory();
        var original = Path.Combine(dir.Path, "original." + format);
        if (withBacking)
        {
            var backing = dir.File("backing.raw");
            ExternalTool.QemuImg("create", "-q", "-f", "raw", backing, Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
            ExternalTool.QemuIo("-f", "raw", "-c", $"write -P 0x66 0 {Size}", backing);
            ExternalTool.QemuImg("create", "-q", "-f", format, "-b", "backing.raw", "-F", "raw", original, Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            ExternalTool.QemuImg("create", "-q", "-f", format, original, Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // Some clusters are allocated already: the writes go partly in place, partly into new clusters.
        ExternalTool.QemuIo("-f", format, "-c", "write -P 0x11 64k 64k", original);
        var before = PatternWrites.ReadWithQemu(original, format);
        var commands = s_writes.IoCommands;
        var probe = Path.Combine(dir.Path, "probe." + format);
        File.Copy(original, probe);
        var points = KillPoints.Trace(strace, WritingCalls, [.. TracedWriteCalls.Command(), "io", "-f", format, .. commands, probe], format.Length + (withBacking ? 1 : 0));
        File.Delete(probe);

        var killed = 0;
        var completed = false;
        foreach (var n in points.Points(400))
        {
            if (completed)
            {
                break;
            }

            var image = Path.Combine(dir.Path, $"kill{n}." + format);
            File.Copy(original, image);
            var run = ExternalTool.Run(strace, ["-f", "-qq", "-o", "/dev/null", "-e", $"trace={WritingCalls}", "-e", $"inject={WritingCalls}:signal=KILL:when={n}",
                .. TracedWriteCalls.Command(), "io", "-f", format, .. commands, image]);
            completed = run.ExitCode == 0;
            if (!completed)
            {
                Assert.True(run.ExitCode == 128 + DiskimgProcess.SIGKILL, $"kill at write {n}: exit {run.ExitCode}: {run.StdErr}");
                killed++;
            }

            AssertChecks(format, image, $"kill at write {n}");
            s_writes.AssertEachSectorIsFromSomePrefix(before, PatternWrites.ReadWithQemu(image, format), $"kill at write {n}");

            // Whatever the crash left, the same writes run again complete, and the image then holds all of them.
            Diskimg.Ok(["io", "-f", format, .. commands, image]);
            AssertChecks(format, image, $"kill at write {n}, written again");
            Assert.True(PatternWrites.ReadWithQemu(image, format).AsSpan().SequenceEqual(s_writes.AfterAll(before)), $"kill at write {n}, written again: content differs");
            File.Delete(image);
        }

        Assert.True(completed, "the writes never completed");
        Assert.True(points.Sweep >= 8, $"only {points.Sweep} crash points in a full sweep: the run did less than meant");
        Assert.True(killed >= Math.Min(8, points.PointsOnCalls), $"only {killed} writes were crash points: the run did less than meant");
    }

    [Theory]
    [InlineData("qed")]
    [InlineData("qcow")]
    public void Sigkill_at_each_write_of_a_convert_leaves_no_target_or_a_whole_one(string format)
    {
        var strace = ExternalTool.Require("strace");
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var data = new byte[Size];
        var random = new Random(13);
        // Data in four places apart from each other, so the target gets several separate allocations.
        random.NextBytes(data.AsSpan(0, 40 << 10));
        random.NextBytes(data.AsSpan(1 << 20, 20 << 10));
        random.NextBytes(data.AsSpan(2 << 20, 100 << 10));
        random.NextBytes(data.AsSpan((3 << 20) + (4 << 10), 4 << 10));
        File.WriteAllBytes(source, data);
        var probe = Path.Combine(dir.Path, "probe." + format);
        var points = KillPoints.Trace(strace, WritingCalls, [.. TracedWriteCalls.Command(), "convert", "-f", "raw", "-O", format, source, probe], format.Length + 7);
        File.Delete(probe);

        var killed = 0;
        var completed = false;
        foreach (var n in points.Points(400))
        {
            if (completed)
            {
                break;
            }

            var target = Path.Combine(dir.Path, $"target{n}." + format);
            var run = ExternalTool.Run(strace, ["-f", "-qq", "-o", "/dev/null", "-e", $"trace={WritingCalls}", "-e", $"inject={WritingCalls}:signal=KILL:when={n}",
                .. TracedWriteCalls.Command(), "convert", "-f", "raw", "-O", format, source, target]);
            completed = run.ExitCode == 0;
            if (!completed)
            {
                Assert.True(run.ExitCode == 128 + DiskimgProcess.SIGKILL, $"kill at write {n}: exit {run.ExitCode}: {run.StdErr}");
                killed++;
            }

            if (File.Exists(target))
            {
                // A file under the target's name is a finished image.
                AssertChecks(format, target, $"kill at write {n}");
                Assert.True(PatternWrites.ReadWithQemu(target, format).AsSpan().SequenceEqual(data), $"kill at write {n}: the target is there but not whole");
            }

            Assert.True(completed || !File.Exists(target), $"kill at write {n}: a killed convert left a file under the target's name");

            // A second run completes over whatever the first left.
            Diskimg.Ok("convert", "-f", "raw", "-O", format, source, target);
            AssertChecks(format, target, $"kill at write {n}, converted again");
            Assert.True(PatternWrites.ReadWithQemu(target, format).AsSpan().SequenceEqual(data), $"kill at write {n}, converted again: content differs");
            File.Delete(target);
            foreach (var partial in Directory.GetFiles(dir.Path, "*" + PartialOutput.Marker + "*"))
            {
                File.Delete(partial);
            }
        }

        Assert.True(completed, "the convert never completed");
        Assert.True(points.Sweep >= 6, $"only {points.Sweep} crash points in a full sweep: the convert did less than meant");
        Assert.True(killed >= Math.Min(6, points.PointsOnCalls), $"only {killed} writes were crash points: the convert did less than meant");
    }

    /// <summary>QED: QEMU's check finds nothing worse than leaked clusters. qcow: qemu-img has no check; the image must open.</summary>
    private static void AssertChecks(string format, string image, string what)
    {
        if (format == "qed")
        {
            var check = ExternalTool.Run("qemu-img", "check", "-f", "qed", image);
            Assert.True(check.ExitCode is 0 or 3, $"{what}: qemu-img check exit {check.ExitCode}: {check.StdOut}{check.StdErr}");
            Assert.DoesNotContain("ERROR", check.StdOut + check.StdErr, StringComparison.Ordinal);
        }
        else
        {
            var info = ExternalTool.Run("qemu-img", "info", "-f", "qcow", image);
            Assert.True(info.ExitCode == 0, $"{what}: qemu-img info: {info.StdErr}");
        }
    }
}
