using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The mutation fuzzer for the blklogwrites log reader (what <c>log-append=on</c> reads to go on from an existing log):
/// a qemu-made log whose superblock and entry sectors are corrupted at random, each mutant judged by
/// <see cref="FuzzRun"/> and then appended to by a write through the node, which must end in one clean line or a result.
/// </summary>
public class BlklogwritesFuzzTests
{
    private const int Seed = 20261203;

    [Fact]
    public void Mutated_logs_fail_cleanly()
    {
        using var dir = new TempDirectory();
        var image = dir.File("b.raw");
        var seed = dir.File("seed.log");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        File.WriteAllBytes(seed, []);
        ExternalTool.QemuIo("-c", "write -P 1 0 4k", "-c", "discard 8k 4k", "-c", "write -z 16k 1k", "-c", "flush", "-c", "write -P 2 12k 512", Node(image, seed));
        var original = File.ReadAllBytes(seed);

        // The superblock, then the entries: one at sector 1 (4 KiB of data after it), the discard, the zero write.
        (int, int)[] regions = [(0, 28), (512, 32), (512 * 10, 32), (512 * 11, 32), (512 * 14, 32)];
        var mutator = new ByteMutator(ByteMutator.Seed(Seed), wordSize: 8, [0, 1, 2, 4, 8, 0x10, 512, 4096, 0x7fffffff, 0xffffffff, 1UL << 40, ulong.MaxValue]);
        var mutant = dir.File("mutant.log");
        FuzzRun.AssertCleanFailures("blklogwrites", mutant, ByteMutator.Iterations(40), _ => mutator.Mutate(original, regions), log => Append(image, log));
    }

    private static string Node(string image, string log) =>
        "json:{\"driver\": \"blklogwrites\", \"file\": {\"driver\": \"file\", \"filename\": \"" + image + "\"}, \"log\": {\"driver\": \"file\", \"filename\": \"" + log + "\"}, \"log-append\": true}";

    /// <summary>A write appended to the mutant log: a clean refusal (one line) or success, never a crash.</summary>
    private static string? Append(string image, string log)
    {
        var result = Diskimg.Run("io", "-c", "write -P 7 0 512", Node(image, log));
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return result.StdErr.Contains("   at ", StringComparison.Ordinal) || result.ExitCode >= 128 || lines.Length > 1
            ? $"'diskimg io' appending exited {result.ExitCode} with: {result.StdErr.Trim()}"
            : null;
    }
}
