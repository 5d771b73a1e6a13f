using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The mutation fuzzer for the VHD and VDI parsers: qemu-made images whose metadata (footer, dynamic header,
/// block table, VDI header and block map) is corrupted at random, each mutant judged by
/// <see cref="FuzzRun"/> (open, info, block status, reads, and the CLI's info, check, map and
/// convert, whose output must pass qemu-img check).
/// </summary>
public class MigrationFormatFuzzTests
{
    private const int Seed = 20261130;

    /// <summary>Seed name, qemu-img format and options, and how many leading bytes are metadata.</summary>
    public static TheoryData<string> Seeds => new() { "vpc-dynamic", "vdi-dynamic", "vdi-static", "vhdx-dynamic", "vhdx-log" };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_images_fail_cleanly(string seedName)
    {
        using var dir = new TempDirectory();
        var (path, metadataStart, metadataLength) = MakeSeed(dir, seedName);
        var original = File.ReadAllBytes(path);
        (int, int)[] regions = [(metadataStart, Math.Min(metadataLength, original.Length - metadataStart - 4) + 4)];
        var mutator = new ByteMutator(ByteMutator.Seed(Seed) ^ seedName.Length ^ (seedName[^1] << 8) ^ (seedName[4] << 16), wordSize: 4,
            [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00100000]);
        FuzzRun.AssertCleanFailures(seedName, dir.File("mutant.img"), ByteMutator.Iterations(40), _ => mutator.Mutate(original, regions), seedName == "vhdx-log" ? Replay : null);
    }

    /// <summary>
    /// A read-write open replays the log: <c>check -r all</c> must end in one line or a clean result, and whatever
    /// it leaves behind must still open in qemu-img (or be refused by both).
    /// </summary>
    private static string? Replay(string mutant)
    {
        var result = Diskimg.Run("check", "-r", "all", "-f", "vhdx", mutant);
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (result.StdErr.Contains("   at ", StringComparison.Ordinal) || result.ExitCode >= 128 || lines.Length > 1)
        {
            return $"'diskimg check -r all' exited {result.ExitCode} with: {result.StdErr.Trim()}";
        }

        if (result.ExitCode == 0 && ExternalTool.Run("qemu-img", "check", "-f", "vhdx", mutant).ExitCode is not (0 or 2))
        {
            return "qemu-img check rejects the image our replay left";
        }

        return null;
    }

    private static (string Path, int MetadataStart, int MetadataLength) MakeSeed(TempDirectory dir, string name)
    {
        if (name == "vhdx-log")
        {
            // A pending entry over the first table sector; mutations hit its header, descriptor and data sectors.
            var logged = dir.File(name + ".vhdx");
            ExternalTool.QemuImg("create", "-q", "-f", "vhdx", "-o", "block_size=1M", logged, "9M");
            ExternalTool.QemuIo("-f", "vhdx", "-c", "write -P 0x5a 0 64k", logged);
            var sector = new byte[4096];
            sector.AsSpan().Fill(0x02);
            Migration.VhdxCraftedLog.AddPendingEntry(logged, 2 << 20, sector);
            return (logged, (int)Migration.VhdxCraftedLog.LogOffset, 8192);
        }


        var (format, options, metadata) = name switch
        {
            "vpc-dynamic" => ("vpc", "subformat=dynamic", 2048),
            "vdi-static" => ("vdi", "static=on", 1024),
            // Headers and region tables (the first 320 KiB; the log, BAT and metadata regions follow at 1 MiB steps).
            "vhdx-dynamic" => ("vhdx", "block_size=1M", 320 * 1024),
            _ => ("vdi", "static=off", 1024),
        };
        var path = dir.File(name + "." + format);
        ExternalTool.QemuImg("create", "-q", "-f", format, "-o", options, path, "9M");
        ExternalTool.QemuIo("-f", format, "-c", "write -P 0x5a 0 64k", "-c", "write -P 0xa5 4M 3M", path);
        return (path, 0, metadata);
    }
}
