using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Parallels;

/// <summary>
/// The mutation fuzzer for the Parallels parser: a qemu-made image whose header and BAT are corrupted at random,
/// each mutant run through <see cref="MutationFuzzTests.Exercise"/>, then repaired with <c>check -r all</c>, whose
/// only lines must be the driver's own, and after which qemu-img check must agree with ours.
/// </summary>
public class ParallelsFuzzTests
{
    private const int Seed = 20261202;

    [Fact]
    public void Mutated_images_fail_cleanly()
    {
        using var dir = new TempDirectory();
        var seed = dir.File("seed.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", "-o", "cluster_size=4k", seed, "9M");
        ExternalTool.QemuIo("-f", "parallels", "-c", "write -P 0x5a 0 64k", "-c", "write -P 0xa5 4M 3M", seed);
        var original = File.ReadAllBytes(seed);
        var baseSeed = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_SEED"), out var chosen) ? chosen : Seed;
        var random = new Random(baseSeed);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 40;
        var failures = new List<string>();
        var mutant = dir.File("mutant.prl");
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var bytes = (byte[])original.Clone();
            // The header's fields past the magic, the BAT entries in use, and the rest of the BAT.
            var regions = new[] { (16, 48), (64, 4 * 24), (64, 4 * 2304) };
            var changes = new List<string>();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                var (start, length) = regions[random.Next(regions.Length)];
                var at = start + random.Next(length - 4);
                uint[] extremes = [0, 1, 2, 0x100, 0x746F6E59, 0x7fffffff, 0xffffffff, 0x1000000];
                switch (random.Next(3))
                {
                    case 0:
                        bytes[at] ^= (byte)(1 << random.Next(8));
                        changes.Add($"bit flip at {at}");
                        break;
                    case 1:
                        bytes[at] = (byte)random.Next(256);
                        changes.Add($"byte at {at}");
                        break;
                    default:
                        var value = extremes[random.Next(extremes.Length)];
                        BitConverter.TryWriteBytes(bytes.AsSpan(at & ~3), value);
                        changes.Add($"0x{value:x} at {at & ~3}");
                        break;
                }
            }

            File.WriteAllBytes(mutant, bytes);
            var failure = MutationFuzzTests.Exercise(mutant) ?? Repair(mutant);
            if (failure is not null)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-parallels-{i}.img");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {string.Join(", ", changes)}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary><c>check -r all</c> ends in the driver's lines plus at most one error; what it leaves, both tools judge alike.</summary>
    private static string? Repair(string mutant)
    {
        var result = Diskimg.Run("check", "-r", "all", "-f", "parallels", mutant);
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("Repairing ", StringComparison.Ordinal) && !l.StartsWith("ERROR ", StringComparison.Ordinal)).ToArray();
        if (result.StdErr.Contains("   at ", StringComparison.Ordinal) || result.ExitCode >= 128 || lines.Length > 1)
        {
            return $"'diskimg check -r all' exited {result.ExitCode} with: {result.StdErr.Trim()}";
        }

        if (new FileInfo(mutant).Length > 1L << 30)
        {
            // A repaired BAT entry far out makes the trim at close grow the file (as QEMU's does); not worth reading.
            return null;
        }

        var theirs = ExternalTool.Run("qemu-img", "check", "-f", "parallels", mutant);
        var ours = Diskimg.Run("check", "-f", "parallels", mutant);
        return theirs.ExitCode == ours.ExitCode ? null : $"after repair qemu-img check exits {theirs.ExitCode}, ours {ours.ExitCode}";
    }
}
