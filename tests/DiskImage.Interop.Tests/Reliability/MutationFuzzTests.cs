using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Operations.Check;
using DiskImage.Operations.Map;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// A deterministic mutation fuzzer: qemu-made images with their metadata (header, L1/L2 tables,
/// refcount structures, snapshot table, compressed data) corrupted at random, fed to open, info, block
/// status, read and the CLI. Anything but a <see cref="DiskImageException"/>, a hang, or a CLI run that
/// prints more than one error line is a finding.
/// </summary>
public class MutationFuzzTests
{
    private const int Seed = 20261124;
    // Generous: a crafted L1 table can make every data cluster an L2 table, and qemu-img check itself needs
    // up to 23 s for the worst such mutant found. A hang is what does not finish at all.
    private static readonly TimeSpan s_perCaseLimit = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Seeds => new()
    {
        "plain", "compressed-zlib", "compressed-zstd", "snapshots", "extended-l2", "refcount1", "v2", "small-clusters",
        "snapshot-extra-data", "bitmaps",
    };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_images_fail_cleanly(string seedName)
    {
        using var dir = new TempDirectory();
        var original = File.ReadAllBytes(MakeSeed(dir, seedName));
        var regions = MetadataRegions.Find(original);
        // string.GetHashCode differs from process to process; the mutants must not.
        var baseSeed = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_SEED"), out var chosen) ? chosen : Seed;
        var random = new Random(baseSeed ^ StableHash(seedName));
        // The first 60 of the series every run (as many as the other formats' fuzzers make, 40 to 100 per seed);
        // DISKIMG_FUZZ_ITERATIONS=150 or more for the longer local runs.
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 60;
        var failures = new List<string>();
        var mutant = dir.File("mutant.qcow2");
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var bytes = (byte[])original.Clone();
            var description = Mutator.Mutate(bytes, regions, random);
            File.WriteAllBytes(mutant, bytes);
            var failure = Exercise(mutant);
            if (failure is not null)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-{seedName}-{i}.qcow2");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {description}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>
    /// Finding of a long run (<c>DISKIMG_FUZZ_SEED=7</c>): <c>l1_size</c> raised to a million entries, so the
    /// L1 table runs over the data clusters and each of them is taken for an L2 table. Check took 20-28 s and
    /// half a gigabyte keeping 1.5 million diagnostics; now the diagnostics are capped, and the verdict must
    /// still be qemu-img's.
    /// </summary>
    [Fact]
    public void An_l1_table_running_over_the_data_gets_qemu_img_s_check_verdict()
    {
        using var dir = new TempDirectory();
        var image = MakeSeed(dir, "refcount1");
        using (var file = File.OpenWrite(image))
        {
            Span<byte> l1Size = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(l1Size, 1_048_577);
            file.Position = 36;
            file.Write(l1Size);
        }

        var theirs = ExternalTool.Run("qemu-img", "check", image);
        var ours = Diskimg.Run("check", image);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(Summary(theirs.StdOut), Summary(ours.StdOut));
        Assert.True(ours.StdErr.Split('\n').Length <= CheckMessages.Capacity + 2, "the diagnostics must be capped");
        Assert.Contains("more messages like these not shown", ours.StdErr, StringComparison.Ordinal);

        static string Summary(string output) =>
            string.Join('\n', output.Split('\n').Where(line => line.Contains("errors were found", StringComparison.Ordinal) || line.Contains("leaked clusters", StringComparison.Ordinal)));
    }

    /// <summary>
    /// Runs every read-side operation on one mutant; returns a description of a finding, or null. The library's pass may
    /// allocate at most <paramref name="allocationLimit"/> bytes (counted on its thread).
    /// </summary>
    internal static string? Exercise(string path, long allocationLimit = long.MaxValue)
    {
        var task = Task.Run(() => ExerciseCore(path, allocationLimit));
        if (!task.Wait(s_perCaseLimit))
        {
            return "hang (no answer within the time limit)";
        }

        return task.Result;
    }

    private static string? ExerciseCore(string path, long allocationLimit)
    {
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            using var image = ImageFormatRegistry.Default.Open(path, null);
            _ = image.GetInfo();
            var buffer = new byte[64 * 1024];
            var readBudget = 64L << 20;
            foreach (var extent in image.GetExtents(0, image.Length))
            {
                if (extent.Kind != IO.ExtentKind.Data)
                {
                    continue;
                }

                for (var offset = extent.Offset; offset < extent.End && readBudget > 0; offset += buffer.Length)
                {
                    var length = (int)Math.Min(buffer.Length, extent.End - offset);
                    image.Read(offset, buffer.AsSpan(0, length));
                    readBudget -= length;
                }
            }

            // The map picture's model walks the host file's metadata too (snapshot L1s, bitmap tables, refcounts).
            _ = AllocationMap.Build(image);
        }
        catch (DiskImageException)
        {
        }
        catch (IOException e) when (e.HResult is > 0 and < 4096)
        {
            // A read that fails with an errno (dmg's EIO for a chunk that does not inflate) is a clean failure too.
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }

        if (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore is var allocated && allocated > allocationLimit)
        {
            return $"allocated {allocated} bytes (limit {allocationLimit})";
        }

        var converted = path + ".converted.qcow2";
        var repaired = path + ".repaired.qcow2";
        File.Copy(path, repaired, overwrite: true);
        string[][] commands = [["info", path], ["check", path], ["map", path], ["convert", "-O", "qcow2", path, converted], ["check", "-r", "all", repaired]];
        foreach (var command in commands)
        {
            var verb = command[0];
            var result = Diskimg.Run(command);
            // qemu-img's hints after a snapshot table it refuses ("You can force-remove ...") and a VHDX log it will not
            // replay read-only ("To replay the log, run:" and the command) belong to the one error, and so does dmg's
            // reason before its bare EINVAL; dmg's module notices and warnings come with every open.
            var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !IsHint(l)).ToArray();
            if (result.StdErr.Contains("   at ", StringComparison.Ordinal) || result.ExitCode >= 128 || (result.ExitCode == 1 && lines.Length > 1 && verb == "info"))
            {
                return $"'diskimg {verb}' exited {result.ExitCode} with: {result.StdErr.Trim()}";
            }

            // Whatever a mutant reads as, the image we write from it must be sound.
            if (verb == "convert" && result.ExitCode == 0)
            {
                var check = ExternalTool.Run("qemu-img", "check", "-f", "qcow2", converted);
                if (check.ExitCode != 0)
                {
                    return $"qemu-img check of the converted copy exited {check.ExitCode}: {check.StdOut.Trim()} {check.StdErr.Trim()}";
                }
            }

            File.Delete(converted);
        }

        File.Delete(repaired);
        return null;
    }

    private static bool IsHint(string line) =>
        line.StartsWith("You can force-remove ", StringComparison.Ordinal)
        || line == "To replay the log, run:"
        || line.StartsWith("qemu-img check -r all ", StringComparison.Ordinal)
        || line.StartsWith("qemu: module ", StringComparison.Ordinal)
        || line.StartsWith("diskimg: warning: ", StringComparison.Ordinal)
        || line.Contains(" is larger than max (", StringComparison.Ordinal);

    private static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)hash;
    }

    private static string MakeSeed(TempDirectory dir, string name)
    {
        if (name == "snapshot-extra-data")
        {
            // Entries with 0, 8, 16, 24 and 50 bytes of extra data (the last partly unknown to QEMU).
            var crafted = dir.File(name + ".qcow2");
            Lifecycle.CraftedSnapshotTable.Create(crafted);
            return crafted;
        }

        var raw = dir.File("pattern.raw");
        var data = new byte[4 << 20];
        var random = new Random(Seed);
        for (var i = 0; i < data.Length; i += 65536)
        {
            // Alternate random, repetitive and zero chunks so every cluster kind appears.
            switch ((i / 65536) % 4)
            {
                case 0: random.NextBytes(data.AsSpan(i, 65536)); break;
                case 1: data.AsSpan(i, 65536).Fill((byte)(i >> 16)); break;
                case 2: "log line 42: the quick brown fox\n"u8.ToArray().CopyTo(data, i); break;
            }
        }

        File.WriteAllBytes(raw, data);
        var path = dir.File(name + ".qcow2");
        string[] options = name switch
        {
            "compressed-zlib" => ["-c"],
            "compressed-zstd" => ["-c", "-o", "compression_type=zstd"],
            "extended-l2" => ["-o", "extended_l2=on,cluster_size=32k"],
            "refcount1" => ["-o", "refcount_bits=1"],
            "v2" => ["-o", "compat=0.10"],
            "small-clusters" => ["-o", "cluster_size=512"],
            _ => [],
        };
        ExternalTool.QemuImg(["convert", "-f", "raw", "-O", "qcow2", .. options, raw, path]);
        if (name == "snapshots")
        {
            ExternalTool.QemuImg("snapshot", "-c", "first", path);
            ExternalTool.QemuIo("-c", "write -P 0x5a 1M 256k", path);
            ExternalTool.QemuImg("snapshot", "-c", "second", path);
        }

        if (name == "bitmaps")
        {
            // One enabled bitmap with data clusters, one disabled and one in use, so directory and tables are mutated.
            ExternalTool.QemuImg("bitmap", "--add", "-g", "512", path, "fine");
            ExternalTool.QemuImg("bitmap", "--add", "--disable", path, "frozen");
            ExternalTool.QemuIo("-c", "write -P 0x5a 1M 256k", path);
            ExternalTool.QemuImg("bitmap", "--add", path, "third");
        }

        return path;
    }

    /// <summary>Where a qcow2 file keeps its metadata, found from its header (trusted: the seed is qemu-made).</summary>
    internal sealed record MetadataRegions(int ClusterSize, List<(int Offset, int Length, string Name)> Regions)
    {
        public static MetadataRegions Find(byte[] file)
        {
            var span = file.AsSpan();
            var clusterBits = (int)BinaryPrimitives.ReadUInt32BigEndian(span[20..]);
            var clusterSize = 1 << clusterBits;
            var l1Size = (int)BinaryPrimitives.ReadUInt32BigEndian(span[36..]);
            var l1Offset = (int)BinaryPrimitives.ReadUInt64BigEndian(span[40..]);
            var refTableOffset = (int)BinaryPrimitives.ReadUInt64BigEndian(span[48..]);
            var refTableClusters = (int)BinaryPrimitives.ReadUInt32BigEndian(span[56..]);
            var snapshotsOffset = (int)BinaryPrimitives.ReadUInt64BigEndian(span[64..]);
            var regions = new List<(int, int, string)>
            {
                (0, Math.Min(clusterSize, 512), "header"),
                (l1Offset, l1Size * 8, "L1"),
                (refTableOffset, Math.Min(refTableClusters * clusterSize, 4096), "refcount table"),
            };
            if (snapshotsOffset > 0)
            {
                regions.Add((snapshotsOffset, Math.Min(clusterSize, 1024), "snapshot table"));
            }

            for (var i = 0; i < l1Size; i++)
            {
                var l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(span[(l1Offset + (i * 8))..]) & 0x00fffffffffffe00UL);
                if (l2 != 0 && l2 + clusterSize <= file.Length)
                {
                    regions.Add(((int)l2, Math.Min(clusterSize, 4096), "L2"));
                    var entry = BinaryPrimitives.ReadUInt64BigEndian(span[(int)l2..]);
                    if ((entry & (1UL << 62)) != 0)
                    {
                        var hostOffset = (int)(entry & ((1UL << (62 - (clusterBits - 8))) - 1));
                        regions.Add((hostOffset, Math.Min(512, file.Length - hostOffset), "compressed data"));
                    }
                }
            }

            regions.AddRange(BitmapRegions(span, clusterSize));
            var refBlock = (long)(BinaryPrimitives.ReadUInt64BigEndian(span[refTableOffset..]) & ~0x1ffUL);
            if (refBlock != 0 && refBlock + clusterSize <= file.Length)
            {
                regions.Add(((int)refBlock, Math.Min(clusterSize, 1024), "refcount block"));
            }

            regions.RemoveAll(r => r.Item1 <= 0 && r.Item3 != "header" || r.Item1 + r.Item2 > file.Length || r.Item2 <= 0);
            return new MetadataRegions(clusterSize, regions);
        }
    }

    /// <summary>The bitmaps extension's payload, the bitmap directory and each bitmap table (of a qemu-made file).</summary>
    private static IEnumerable<(int Offset, int Length, string Name)> BitmapRegions(ReadOnlySpan<byte> file, int clusterSize)
    {
        var regions = new List<(int, int, string)>();
        var position = (int)BinaryPrimitives.ReadUInt32BigEndian(file[100..]);
        while (position + 8 <= clusterSize && BinaryPrimitives.ReadUInt32BigEndian(file[position..]) is var magic and not 0)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(file[(position + 4)..]);
            if (magic == 0x23852875)
            {
                regions.Add((position + 8, 24, "bitmaps extension"));
                var size = (int)BinaryPrimitives.ReadUInt64BigEndian(file[(position + 16)..]);
                var directory = (int)BinaryPrimitives.ReadUInt64BigEndian(file[(position + 24)..]);
                regions.Add((directory, size, "bitmap directory"));
                for (var entry = directory; entry < directory + size;)
                {
                    regions.Add(((int)BinaryPrimitives.ReadUInt64BigEndian(file[entry..]), (int)BinaryPrimitives.ReadUInt32BigEndian(file[(entry + 8)..]) * 8, "bitmap table"));
                    entry += (24 + BinaryPrimitives.ReadUInt16BigEndian(file[(entry + 18)..]) + 7) & ~7;
                }
            }

            position += 8 + ((length + 7) & ~7);
        }

        return regions;
    }

    /// <summary>Corrupts one metadata region in one of several ways; returns what it did.</summary>
    internal static class Mutator
    {
        private static readonly ulong[] s_interesting =
        [
            0, 1, 0x1ff, 0x200, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x00fffffffffffe00, 0x7fffffffffffffff, ulong.MaxValue,
            1UL << 56, 1UL << 62, 1UL << 63, 0xc000000000000000,
        ];

        public static string Mutate(byte[] bytes, MetadataRegions regions, Random random)
        {
            var (offset, length, name) = regions.Regions[random.Next(regions.Regions.Count)];
            var count = 1 + random.Next(3);
            var what = new List<string>();
            for (var k = 0; k < count; k++)
            {
                var at = offset + random.Next(length);
                switch (random.Next(4))
                {
                    case 0:
                        bytes[at] ^= (byte)(1 << random.Next(8));
                        what.Add($"flip bit in {name} at {at}");
                        break;
                    case 1:
                        bytes[at] = (byte)random.Next(256);
                        what.Add($"random byte in {name} at {at}");
                        break;
                    default:
                        var aligned = offset + (random.Next(Math.Max(1, length / 8)) * 8);
                        if (name == "header")
                        {
                            aligned = random.Next(13) * 8;
                        }

                        if (aligned + 8 <= bytes.Length)
                        {
                            var value = s_interesting[random.Next(s_interesting.Length)];
                            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(aligned), value);
                            what.Add($"u64 0x{value:x} into {name} at {aligned}");
                        }

                        break;
                }
            }

            return string.Join("; ", what);
        }
    }
}
