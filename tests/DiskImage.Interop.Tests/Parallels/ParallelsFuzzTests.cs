using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Parallels;

/// <summary>
/// The mutation fuzzer for the Parallels parser: a qemu-made image whose header and BAT are corrupted at random,
/// each mutant judged by <see cref="FuzzRun"/>, then repaired with <c>check -r all</c>, whose
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
        // The header's fields past the magic, the BAT entries in use, and the rest of the BAT.
        (int, int)[] regions = [(16, 48), (64, 4 * 24), (64, 4 * 2304)];
        var mutator = new ByteMutator(ByteMutator.Seed(Seed), wordSize: 4, [0, 1, 2, 0x100, 0x746F6E59, 0x7fffffff, 0xffffffff, 0x1000000]);
        FuzzRun.AssertCleanFailures("parallels", dir.File("mutant.prl"), ByteMutator.Iterations(40), _ => mutator.Mutate(original, regions), Repair);
    }

    /// <summary>
    /// The check's own lines (repairs, errors, the count of those not shown past the cap) and QEMU's warning for a Format
    /// Extension it will not use read-write.
    /// </summary>
    private static bool IsDriverLine(string line) =>
        line.StartsWith("Repairing ", StringComparison.Ordinal) || line.StartsWith("ERROR ", StringComparison.Ordinal)
        || line.EndsWith(" more messages like these not shown)", StringComparison.Ordinal)
        || line.EndsWith(": warning: Format Extension ignored in RW mode", StringComparison.Ordinal);

    /// <summary><c>check -r all</c> ends in the driver's lines plus at most one error; what it leaves, both tools judge alike.</summary>
    private static string? Repair(string mutant)
    {
        var result = Diskimg.Run("check", "-r", "all", "-f", "parallels", mutant);
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !IsDriverLine(l)).ToArray();
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
