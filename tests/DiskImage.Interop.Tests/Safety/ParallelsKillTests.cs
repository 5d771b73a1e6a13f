using System.Buffers.Binary;
using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// Writes to a Parallels image killed at sampled writing system calls (<see cref="TracedWriteCalls"/>: the first and last,
/// each header and BAT write, the growth of the file, and some data writes). QEMU judges each result: <c>qemu-img check</c>
/// finds only what a crash of QEMU's own driver leaves (the header still marked in use, space leaked past the data),
/// repairs it to a clean image, and every 512-byte sector, read by qemu-img, holds what it held before the writes or
/// after some of them in order. A last run over a killed image completes and leaves every write.
/// </summary>
public sealed class ParallelsKillTests
{
    private const long Size = 4L << 20;

    /// <summary>
    /// The writes, in order: into a new cluster and on into an allocated one, inside a new cluster, one far out, one into
    /// the first cluster again, and one over several new clusters.
    /// </summary>
    private static readonly PatternWrites s_writes = new(
        [(0x22, 62 << 10, 6 << 10), (0x33, 1000, 3000), (0x44, (3L << 20) + 512, 2 << 10), (0x55, 8 << 10, 4 << 10), (0x66, (1L << 20) + 4096, 150 << 10)]);

    [Fact]
    public void Sigkill_at_sampled_writes_of_diskimg_io_leaves_old_or_new_sectors()
    {
        var strace = ExternalTool.Require("strace");
        using var dir = new TempDirectory();
        var original = dir.File("original.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", "-o", "cluster_size=64k", original, Size.ToString(CultureInfo.InvariantCulture));
        // One cluster is allocated already: the writes go partly in place, partly into new clusters.
        ExternalTool.QemuIo("-f", "parallels", "-c", "write -P 0x11 64k 64k", original);
        var before = PatternWrites.ReadWithQemu(original, "parallels");
        string[] io = ["io", "-f", "parallels", .. s_writes.IoCommands];

        var traced = dir.File("traced.prl");
        File.Copy(original, traced);
        var calls = TracedWriteCalls.Trace(strace, dir.Path, [.. io, traced]);
        // The header's data_off: sectors before the first data cluster (header and BAT).
        var dataStart = BinaryPrimitives.ReadUInt32LittleEndian(File.ReadAllBytes(original).AsSpan(48)) * 512L;
        var imageFd = calls.First(c => c.Name == "pwrite64" && c.Offset == 0).Fd;
        var points = TracedWriteCalls.Sample(calls, imageFd, dataStart);
        Assert.True(points.Count(c => c.Fd == imageFd && c.Offset < dataStart) >= 4, $"too few header and BAT writes: {string.Join(", ", points)}");

        var killed = 0;
        string? last = null;
        foreach (var point in points)
        {
            var image = dir.File($"kill{point.Index}.prl");
            File.Copy(original, image);
            var run = TracedWriteCalls.RunKilledAt(strace, point, [.. io, image]);
            if (run.ExitCode != 0)
            {
                Assert.True(run.ExitCode == 128 + DiskimgProcess.SIGKILL, $"kill at {point}: exit {run.ExitCode}: {run.StdErr}");
                killed++;
            }

            s_writes.AssertEachSectorIsFromSomePrefix(before, PatternWrites.ReadWithQemu(image, "parallels"), $"kill at {point}");
            AssertOnlyCrashMarks(image, $"kill at {point}");
            if (last is not null)
            {
                File.Delete(last);
            }

            last = image;
        }

        Assert.True(killed >= points.Count - 1, $"only {killed} of {points.Count} sampled calls were crash points");

        // The last image, killed and repaired, takes the same writes again and then holds all of them.
        Diskimg.Ok([.. io, last!]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", "-f", "parallels", last!).ExitCode);
        Assert.True(PatternWrites.ReadWithQemu(last!, "parallels").AsSpan().SequenceEqual(s_writes.AfterAll(before)), "written again: content differs");
    }

    /// <summary>
    /// qemu-img check finds the in-use mark and leaked space at most (what a crash of QEMU leaves); its repair leaves an
    /// image it finds clean.
    /// </summary>
    private static void AssertOnlyCrashMarks(string image, string what)
    {
        var check = ExternalTool.Run("qemu-img", "check", "-f", "parallels", image);
        Assert.True(check.ExitCode is 0 or 2 or 3, $"{what}: qemu-img check exit {check.ExitCode}: {check.StdOut}{check.StdErr}");
        var errors = check.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("ERROR", StringComparison.Ordinal))
            .Where(l => l != "ERROR image was not closed correctly" && !l.StartsWith("ERROR space leaked at the end of the image", StringComparison.Ordinal));
        Assert.True(!errors.Any(), $"{what}: {check.StdErr}");
        ExternalTool.Run("qemu-img", "check", "-r", "all", "-f", "parallels", image);
        var repaired = ExternalTool.Run("qemu-img", "check", "-f", "parallels", image);
        Assert.True(repaired.ExitCode == 0, $"{what}: after repair, qemu-img check exit {repaired.ExitCode}: {repaired.StdOut}{repaired.StdErr}");
    }
}
