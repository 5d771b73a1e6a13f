using System.Diagnostics;
using System.Globalization;
using DiskImage.Operations.Conversion;

namespace DiskImage.Benchmarks;

/// <summary>
/// What a library user gets: <see cref="ImageConverter.Convert"/> called in a long-running, JIT-compiled process,
/// timed after one warm-up call, alternating with <c>qemu-img convert</c> of the same job (one process each; which of
/// the two goes first alternates too, and each output is deleted as soon as it has been timed).
/// Prints one tab-separated line per job: name, qemu-img best and median, ours best and median (ms), ratio of bests,
/// then the CPU time (user + system, ms) of qemu-img's and our fastest-CPU run and their ratio.
/// </summary>
internal static class InProcessConvertBenchmark
{
    private sealed record Job(string Name, string Source, string SourceFormat, string TargetFormat, string[] QemuOptions, bool Compress, string? CompressionType);

    public static int Run(string corpusDirectory, int runs, IReadOnlyCollection<string>? only, TextWriter output)
    {
        Job[] jobs =
        [
            new("raw-to-qcow2", "corpus.raw", "raw", "qcow2", [], false, null),
            new("qcow2-to-raw", "corpus.qcow2", "qcow2", "raw", [], false, null),
            new("zlib-qcow2-to-raw", "corpus-zlib.qcow2", "qcow2", "raw", [], false, null),
            new("chain-to-qcow2", "chain-top.qcow2", "qcow2", "qcow2", [], false, null),
            new("raw-to-qcow2-zstd", "corpus.raw", "raw", "qcow2", ["-c", "-o", "compression_type=zstd"], true, "zstd"),
        ];
        var scratch = Path.Combine(corpusDirectory, $"inproc-out-{Environment.ProcessId}");
        Directory.CreateDirectory(scratch);
        try
        {
            foreach (var job in jobs.Where(j => only is null || only.Contains(j.Name)))
            {
                var source = Path.Combine(corpusDirectory, job.Source);
                if (!File.Exists(source))
                {
                    output.WriteLine($"{job.Name}\tmissing {source}");
                    continue;
                }

                var ours = new List<double>();
                var theirs = new List<double>();
                var ourCpu = new List<double>();
                var theirCpu = new List<double>();
                var qemuTarget = Path.Combine(scratch, "qemu." + job.TargetFormat);
                var ourTarget = Path.Combine(scratch, "ours." + job.TargetFormat);
                for (var i = 0; i <= runs; i++)
                {
                    // Each run starts from the same state: no other output on disk (each is deleted as soon as it is
                    // timed), and the order alternates. On a VM a 1 GiB write that lands in page-cache memory not
                    // touched recently costs several times one that reuses the pages of a file just deleted, so
                    // keeping one tool's output while the other runs would time the two in different conditions.
                    var qemuFirst = i % 2 == 0;
                    var first = qemuFirst ? TimeQemu(job, source, qemuTarget) : TimeOurs(job, source, ourTarget);
                    File.Delete(qemuFirst ? qemuTarget : ourTarget);
                    var second = qemuFirst ? TimeOurs(job, source, ourTarget) : TimeQemu(job, source, qemuTarget);
                    File.Delete(qemuFirst ? ourTarget : qemuTarget);
                    var (q, o) = qemuFirst ? (first, second) : (second, first);
                    if (i > 0)
                    {
                        theirs.Add(q.WallMs);
                        ours.Add(o.WallMs);
                        theirCpu.Add(q.CpuMs);
                        ourCpu.Add(o.CpuMs);
                    }
                }

                output.WriteLine(string.Join('\t', job.Name, Ms(theirs.Min()), Ms(Median(theirs)), Ms(ours.Min()), Ms(Median(ours)),
                    Ratio(ours.Min(), theirs.Min()), Ms(theirCpu.Min()), Ms(ourCpu.Min()), Ratio(ourCpu.Min(), theirCpu.Min())));
                output.Flush();
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }

        return 0;
    }

    private readonly record struct Timing(double WallMs, double CpuMs);

    private static Timing TimeOurs(Job job, string source, string target)
    {
        Sync();
        var options = new Dictionary<string, string>();
        if (job.CompressionType is not null)
        {
            options["compression_type"] = job.CompressionType;
        }

        var cpu = ResourceUsage.SelfCpuMilliseconds();
        var clock = Stopwatch.StartNew();
        ImageConverter.Convert(new ConvertOptions
        {
            Sources = [source],
            SourceFormat = job.SourceFormat,
            Target = target,
            TargetFormat = job.TargetFormat,
            TargetOptions = options,
            Compress = job.Compress,
        });
        return new Timing(clock.Elapsed.TotalMilliseconds, ResourceUsage.SelfCpuMilliseconds() - cpu);
    }

    private static Timing TimeQemu(Job job, string source, string target)
    {
        Sync();
        var info = new ProcessStartInfo("qemu-img") { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(source)! };
        foreach (var argument in (string[])["convert", "-f", job.SourceFormat, "-O", job.TargetFormat, .. job.QemuOptions, source, target])
        {
            info.ArgumentList.Add(argument);
        }

        var cpu = ResourceUsage.ChildrenCpuMilliseconds();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start qemu-img");
        process.WaitForExit();
        var elapsed = clock.Elapsed.TotalMilliseconds;
        var used = ResourceUsage.ChildrenCpuMilliseconds() - cpu;
        return process.ExitCode == 0 ? new Timing(elapsed, used) : throw new InvalidOperationException($"qemu-img convert failed for {job.Name}");
    }

    // As the process harness does: dirty pages of the previous run are written back before the next one starts.
    private static void Sync()
    {
        using var process = Process.Start(new ProcessStartInfo("sync") { UseShellExecute = false }) ?? throw new InvalidOperationException("could not start sync");
        process.WaitForExit();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Ratio(double ours, double theirs) => (ours / theirs).ToString("F2", CultureInfo.InvariantCulture);

    private static string Ms(double value) => value.ToString("F1", CultureInfo.InvariantCulture);
}
