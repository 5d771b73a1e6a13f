using System.Diagnostics;
using System.Globalization;
using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Operations.Io;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// Kills <c>diskimg io</c> with SIGKILL in the middle of a long random write workload, many times, then
/// asks qemu-img whether the image survived: leaks are allowed, corruption is not, and every write that
/// a completed flush acknowledged must read back intact.
/// </summary>
public class CrashConsistencyTests
{
    private const long ImageSize = 16 << 20;
    private const int Commands = 400;

    [Theory]
    [InlineData("lazy_refcounts=off,cluster_size=65536", 8)]
    [InlineData("lazy_refcounts=on,cluster_size=65536", 8)]
    [InlineData("cluster_size=4096,refcount_bits=1", 6)]
    public void Killed_writers_leave_images_qemu_img_accepts(string createOptions, int trials)
    {
        using var dir = new TempDirectory();
        // The same kill points in every run (HashCode.Combine is randomised per process);
        // DISKIMG_CRASH_TRIALS raises the number of kills per configuration for long local runs.
        var random = new Random((createOptions.Length * 7919) + trials + 1124);
        if (int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_CRASH_TRIALS"), out var chosen) && chosen > 0)
        {
            trials = chosen;
        }

        var midRunKills = 0;
        for (var trial = 0; trial < trials; trial++)
        {
            var image = dir.File($"crash-{trial}.qcow2");
            ExternalTool.QemuImg("create", "-f", "qcow2", "-o", createOptions, image, ImageSize.ToString(CultureInfo.InvariantCulture));
            var workload = Workload.Generate(random, Commands);
            var killAfterLines = 20 + random.Next(workload.ExpectedLines - 20);
            var (flushesSeen, killedMidRun) = RunAndKill(image, workload, killAfterLines);
            midRunKills += killedMidRun ? 1 : 0;

            RepairIfDirty(image);
            var check = ExternalTool.Run("qemu-img", "check", "-f", "qcow2", image);
            Assert.True(check.ExitCode is 0 or 3, $"trial {trial} ({createOptions}, killed after {killAfterLines} lines): qemu-img check exited {check.ExitCode}: {check.StdOut}{check.StdErr}");

            var raw = dir.File($"crash-{trial}.raw");
            ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "raw", image, raw);
            workload.AssertAcknowledgedWritesIntact(File.ReadAllBytes(raw), flushesSeen, ClusterSize(createOptions), $"trial {trial} ({createOptions})");
            File.Delete(raw);
            File.Delete(image);
        }

        // A kill that lands after the workload finished proves nothing; most must land mid-run.
        Assert.True(midRunKills * 2 >= trials, $"only {midRunKills} of {trials} kills landed while the workload was running");
    }

    /// <summary>
    /// A dirty lazy-refcounts image is repaired by the next read-write open, as QEMU does; images that
    /// are not dirty are left for qemu-img to judge untouched.
    /// </summary>
    private static void RepairIfDirty(string image)
    {
        bool dirty;
        using (var readOnly = ImageFormatRegistry.Default.Open(image, "qcow2"))
        {
            dirty = readOnly.GetInfo().DirtyFlag == true;
        }

        if (dirty)
        {
            using var writable = ImageFormatRegistry.Default.Open(image, "qcow2", new ImageOpenOptions { ReadOnly = false });
            writable.Flush();
        }
    }

    /// <summary>
    /// Starts the workload in a child process, kills it after <paramref name="killAfterLines"/> lines of
    /// output, and returns how many flushes had completed and whether the kill found it still running.
    /// </summary>
    private static (int Flushes, bool KilledMidRun) RunAndKill(string image, Workload workload, int killAfterLines)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "diskimg.dll"));
        info.ArgumentList.Add("io");
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add("qcow2");
        foreach (var command in workload.CommandLines)
        {
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(command);
        }

        info.ArgumentList.Add(image);
        using var process = Process.Start(info)!;
        var flushMarker = QemuIoText.Size(ImageSize);
        var lines = 0;
        var flushes = 0;
        var killedMidRun = false;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines++;
            if (line == flushMarker)
            {
                flushes++;
            }

            if (lines >= killAfterLines)
            {
                killedMidRun = !process.HasExited;
                process.Kill();
                break;
            }
        }

        process.WaitForExit();
        Assert.True(lines >= killAfterLines, $"the workload ended after {lines} lines, before the planned kill; stderr: {process.StandardError.ReadToEnd()}");
        return (flushes, killedMidRun && process.ExitCode != 0);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static int ClusterSize(string createOptions)
    {
        var match = System.Text.RegularExpressions.Regex.Match(createOptions, "cluster_size=([0-9]+)");
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 65536;
    }

    /// <summary>A random mix of pattern writes, zero writes and discards, with a flush (and a marker) every few commands.</summary>
    private sealed class Workload
    {
        private readonly List<(string Kind, long Offset, int Length, byte Pattern)> _operations = [];
        private readonly List<int> _flushAfter = [];

        public List<string> CommandLines { get; } = [];

        public int ExpectedLines { get; private set; }

        public static Workload Generate(Random random, int count)
        {
            var workload = new Workload();
            for (var i = 0; i < count; i++)
            {
                var length = 512 * (1 + random.Next(1024));
                var offset = 512L * random.Next((int)((ImageSize - length) / 512));
                var pattern = (byte)(1 + random.Next(254));
                var kind = random.Next(10) switch
                {
                    < 7 => "write",
                    < 9 => "zero",
                    _ => "discard",
                };
                workload._operations.Add((kind, offset, length, pattern));
                workload.CommandLines.Add(kind switch
                {
                    "write" => $"write -P {pattern} {offset} {length}",
                    "zero" => $"write -z {offset} {length}",
                    _ => $"discard {offset} {length}",
                });
                workload.ExpectedLines += 2;
                if (random.Next(3) == 0)
                {
                    workload._flushAfter.Add(workload._operations.Count);
                    workload.CommandLines.Add("flush");
                    workload.CommandLines.Add("length");
                    workload.ExpectedLines += 1;
                }
            }

            return workload;
        }

        /// <summary>
        /// Bytes written before the last seen flush must hold their values, except where a later, possibly partial,
        /// operation touched them. A discard drops whole clusters only, as QEMU's does: they read as zeroes (no
        /// backing file here), and the partial clusters at its ends keep their data.
        /// </summary>
        public void AssertAcknowledgedWritesIntact(byte[] actual, int flushesSeen, int clusterSize, string what)
        {
            Assert.Equal(ImageSize, actual.LongLength);
            var durableCount = flushesSeen == 0 ? 0 : _flushAfter[flushesSeen - 1];
            var model = new byte[ImageSize];
            var uncertain = new bool[ImageSize / 512];
            for (var i = 0; i < _operations.Count; i++)
            {
                var (kind, offset, length, pattern) = _operations[i];
                if (i < durableCount)
                {
                    if (kind == "discard")
                    {
                        var first = (offset + clusterSize - 1) / clusterSize * clusterSize;
                        var end = (offset + length) / clusterSize * clusterSize;
                        if (end > first)
                        {
                            model.AsSpan((int)first, (int)(end - first)).Clear();
                        }
                    }
                    else
                    {
                        model.AsSpan((int)offset, length).Fill(kind == "write" ? pattern : (byte)0);
                    }
                }
                else
                {
                    uncertain.AsSpan((int)(offset / 512), length / 512).Fill(true);
                }
            }

            for (var sector = 0; sector < uncertain.Length; sector++)
            {
                if (uncertain[sector])
                {
                    continue;
                }

                var expected = model.AsSpan(sector * 512, 512);
                var got = actual.AsSpan(sector * 512, 512);
                Assert.True(expected.SequenceEqual(got), $"{what}: acknowledged data lost at offset {sector * 512} after {flushesSeen} flushes");
            }
        }
    }
}
