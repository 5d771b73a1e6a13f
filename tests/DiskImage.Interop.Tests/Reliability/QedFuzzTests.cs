using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The mutation fuzzer for the QED parser: a qemu-made image (with a backing file name) whose header, L1 table and
/// L2 table are corrupted at random, each mutant judged by <see cref="FuzzRun"/>, then repaired
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
        // Header (first 128 bytes), the L1 table (clusters 1 and 2) and the first L2 table.
        (int, int)[] regions = [(0, 128), (4096, 8192), (firstL2, 8192)];
        var mutator = new ByteMutator(ByteMutator.Seed(Seed), wordSize: 8, [0, 1, 0x1000, 0x7fffffff, 0xffffffff, 0xfffffffffffff000, ulong.MaxValue, 0x100000]);
        FuzzRun.AssertCleanFailures("qed", dir.File("mutant.qed"), ByteMutator.Iterations(40), _ => mutator.Mutate(original, regions), Repair);
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
        if (theirs.StdErr.Contains("Could not open backing file: ", StringComparison.Ordinal))
        {
            // A mutated backing name: qemu-img's check opens the backing file, ours never does (UntrustedImageTests).
            return null;
        }

        var ours = Diskimg.Run("check", "-f", "qed", mutant);
        return theirs.ExitCode == ours.ExitCode ? null : $"after repair qemu-img check exits {theirs.ExitCode}, ours {ours.ExitCode}";
    }
}
