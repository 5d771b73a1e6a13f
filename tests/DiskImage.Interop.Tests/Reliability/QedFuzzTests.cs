using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The mutation fuzzer for the QED parser: a qemu-made image (with a backing file name) whose header, L1 table and
/// L2 table are corrupted at random, each mutant run through <see cref="MutationFuzzTests.Exercise"/>, then repaired
/// with <c>check -r all</c>, which must end in one line or a result qemu-img accepts.
/// </summary>
public class QedFuzzTests
{
    private const int Seed = 20261202;

    [Fact]
    public void Mutated_images_fail_cleanly()
    {
        using var dir = new TempDirectory();
        var seed = dir.File("seed.qed");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", dir.File("base.raw"), "9M");
        ExternalTool.QemuImg("create", "-q", "-f", "qed", "-o", "cluster_size=4k,table_size=2", "-b", "base.raw", "-F", "raw", seed, "9M");
        ExternalTool.QemuIo("-f", "qed", "-c", "write -P 0x5a 0 64k", "-c", "write -z 1M 64k", "-c", "write -P 0xa5 4M 3M", seed);
        var original = File.ReadAllBytes(seed);
        var firstL2 = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(4096));
        var baseSeed = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_SEED"), out var chosen) ? chosen : Seed;
        var random = new Random(baseSeed);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 40;
        var failures = new List<string>();
        var mutant = dir.File("mutant.qed");
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var bytes = (byte[])original.Clone();
            // Header (first 128 bytes), the L1 table (clusters 1 and 2) and the first L2 table.
            var regions = new[] { (0, 128), (4096, 8192), (firstL2, 8192) };
            var changes = new List<string>();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                var (start, length) = regions[random.Next(regions.Length)];
                var at = start + random.Next(length - 8);
                ulong[] extremes = [0, 1, 0x1000, 0x7fffffff, 0xffffffff, 0xfffffffffffff000, ulong.MaxValue, 0x100000];
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
                        BitConverter.TryWriteBytes(bytes.AsSpan(at & ~7), value);
                        changes.Add($"0x{value:x} at {at & ~7}");
                        break;
                }
            }

            File.WriteAllBytes(mutant, bytes);
            var failure = MutationFuzzTests.Exercise(mutant) ?? Repair(mutant);
            if (failure is not null)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-qed-{i}.img");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {string.Join(", ", changes)}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary><c>check -r all</c> ends in one line or a result; what it leaves must be what qemu-img check accepts or refuses alike.</summary>
    private static string? Repair(string mutant)
    {
        var result = Diskimg.Run("check", "-r", "all", "-f", "qed", mutant);
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (result.StdErr.Contains("   at ", StringComparison.Ordinal) || result.ExitCode >= 128 || lines.Length > 1)
        {
            return $"'diskimg check -r all' exited {result.ExitCode} with: {result.StdErr.Trim()}";
        }

        var theirs = ExternalTool.Run("qemu-img", "check", "-f", "qed", mutant);
        var ours = Diskimg.Run("check", "-f", "qed", mutant);
        return theirs.ExitCode == ours.ExitCode ? null : $"after repair qemu-img check exits {theirs.ExitCode}, ours {ours.ExitCode}";
    }
}
