using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Qcow;

/// <summary>
/// The qcow (version 1) parser under the mutation fuzzer: header, backing name, L1 and L2 tables and compressed
/// data of qemu-made seeds are corrupted, and every read-side verb must answer cleanly.
/// </summary>
public class QcowMutationFuzzTests
{
    private const int Seed = 20261202;

    public static TheoryData<string> Seeds => new() { "plain", "compressed", "backing", "encrypted" };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_qcow_images_fail_cleanly(string seedName)
    {
        using var dir = new TempDirectory();
        var path = MakeSeed(dir, seedName);
        var original = File.ReadAllBytes(path);
        var regions = Regions(original);
        var random = new Random(Seed ^ seedName.Length ^ (seedName[0] << 8));
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 100;
        var mutant = dir.File("mutant.qcow");
        var failures = new List<string>();
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var bytes = (byte[])original.Clone();
            var description = MutationFuzzTests.Mutator.Mutate(bytes, regions, random);
            File.WriteAllBytes(mutant, bytes);
            var failure = MutationFuzzTests.Exercise(mutant);
            if (failure is not null)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-qcow-{seedName}-{i}.qcow");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {description}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static string MakeSeed(TempDirectory dir, string name)
    {
        var raw = dir.File("pattern.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", raw, "6M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x31 0 200k", "-c", "write -P 0x32 1M 64k", "-c", "write -P 0x33 5M 1M", raw);
        var path = dir.File(name + ".qcow");
        switch (name)
        {
            case "compressed":
                ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow", raw, path);
                ExternalTool.QemuIo("-f", "qcow", "-c", "write -c -P 0x36 3M 4k", "-c", "write -c -P 0x37 2M 4k", path);
                break;
            case "backing":
                ExternalTool.QemuImg("create", "-q", "-f", "qcow", "-b", "pattern.raw", "-F", "raw", path);
                ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 0x34 100k 8k", "-c", "write -P 0x35 4M 1k", path);
                break;
            case "encrypted":
                // Opened without its key, an encrypted image still shows its header and tables to info and map.
                ExternalTool.QemuImg("convert", "--object", "secret,id=s,data=pw", "-f", "raw", "-O", "qcow", "-o", "encrypt.format=aes,encrypt.key-secret=s", raw, path);
                break;
            default:
                ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow", raw, path);
                break;
        }

        return path;
    }

    /// <summary>The header, the backing name, the L1 table, every L2 table and the first compressed clusters.</summary>
    private static MutationFuzzTests.MetadataRegions Regions(byte[] file)
    {
        var span = file.AsSpan();
        var clusterBits = span[32];
        var l2Bits = span[33];
        var size = BinaryPrimitives.ReadUInt64BigEndian(span[24..]);
        var l1Offset = (int)BinaryPrimitives.ReadUInt64BigEndian(span[40..]);
        var l1Entries = (int)((size + (1UL << (clusterBits + l2Bits)) - 1) >> (clusterBits + l2Bits));
        var regions = new List<(int Offset, int Length, string Name)> { (0, 48, "header"), (l1Offset, l1Entries * 8, "L1") };
        var backingOffset = (int)BinaryPrimitives.ReadUInt64BigEndian(span[8..]);
        if (backingOffset != 0)
        {
            regions.Add((backingOffset, (int)BinaryPrimitives.ReadUInt32BigEndian(span[16..]), "backing name"));
        }

        for (var i = 0; i < l1Entries; i++)
        {
            var l2 = (long)BinaryPrimitives.ReadUInt64BigEndian(span[(l1Offset + (i * 8))..]);
            if (l2 == 0 || l2 + (8 << l2Bits) > file.Length)
            {
                continue;
            }

            regions.Add(((int)l2, 8 << l2Bits, "L2"));
            var entry = BinaryPrimitives.ReadUInt64BigEndian(span[(int)l2..]);
            if ((entry >> 63) != 0)
            {
                var host = (int)(entry & ((1UL << (63 - clusterBits)) - 1));
                regions.Add((host, Math.Min(256, file.Length - host), "compressed data"));
            }
        }

        regions.RemoveAll(r => r.Length <= 0 || r.Offset + r.Length > file.Length);
        return new MutationFuzzTests.MetadataRegions(1 << clusterBits, regions);
    }
}
