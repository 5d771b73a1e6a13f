using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Vmdk;

/// <summary>
/// The VMDK and OVA parsers under the mutation fuzzer: header, embedded descriptor, grain directories and
/// grain tables of qemu-made seeds are corrupted, and every read-side verb must answer cleanly.
/// </summary>
public class VmdkMutationFuzzTests
{
    private const int Seed = 20261130;

    public static TheoryData<string> Seeds => new() { "monolithicSparse", "streamOptimized", "zeroed", "ova" };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_vmdk_images_fail_cleanly(string seedName)
    {
        using var dir = new TempDirectory();
        var (path, regions) = MakeSeed(dir, seedName);
        var original = File.ReadAllBytes(path);
        var random = new Random(Seed ^ seedName.Length ^ (seedName[0] << 8));
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 100;
        var mutant = dir.File(seedName == "ova" ? "mutant.ova" : "mutant.vmdk");
        var failures = new List<string>();
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var bytes = (byte[])original.Clone();
            var description = MutationFuzzTests.Mutator.Mutate(bytes, regions, random);
            File.WriteAllBytes(mutant, bytes);
            var failure = MutationFuzzTests.Exercise(mutant);
            if (failure is not null)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-vmdk-{seedName}-{i}{Path.GetExtension(mutant)}");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {description}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static (string Path, MutationFuzzTests.MetadataRegions Regions) MakeSeed(TempDirectory dir, string name)
    {
        var raw = dir.File("pattern.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", raw, "4M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x31 0 200k", "-c", "write -P 0x32 1M 64k", "-c", "write -P 0x33 3M 1M", raw);
        var vmdk = dir.File(name + ".vmdk");
        var options = name switch
        {
            "streamOptimized" or "ova" => "subformat=streamOptimized",
            "zeroed" => "zeroed_grain=on",
            _ => "subformat=monolithicSparse",
        };
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", options, raw, vmdk);
        if (name == "zeroed")
        {
            ExternalTool.QemuIo("-f", "vmdk", "-c", "write -z 0 64k", vmdk);
        }

        var bytes = File.ReadAllBytes(vmdk);
        var regions = SparseRegions(bytes, 0);
        if (name != "ova")
        {
            return (vmdk, new MutationFuzzTests.MetadataRegions(65536, regions));
        }

        File.WriteAllText(dir.File("vm.ovf"), """
            <?xml version="1.0"?>
            <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
              <References><File ovf:id="f1" ovf:href="ova.vmdk"/></References>
              <DiskSection><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="4194304"
                ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
            </Envelope>
            """);
        var ova = dir.File("seed.ova");
        Assert.Equal(0, ExternalTool.RunIn(dir.Path, "tar", "--format=gnu", "-cf", ova, "vm.ovf", "ova.vmdk").ExitCode);
        var archive = File.ReadAllBytes(ova);
        var diskAt = archive.AsSpan().IndexOf("KDMV"u8);
        var tarRegions = new List<(int, int, string)> { (0, 512, "header"), (512, 512, "OVF"), (diskAt - 512, 512, "tar entry") };
        tarRegions.AddRange(SparseRegions(bytes, diskAt));
        return (ova, new MutationFuzzTests.MetadataRegions(65536, tarRegions));
    }

    /// <summary>Header, embedded descriptor, both grain directories and the first grain table of a qemu-made sparse file.</summary>
    private static List<(int, int, string)> SparseRegions(byte[] file, int shift)
    {
        var span = file.AsSpan();
        var directory = (int)(BinaryPrimitives.ReadInt64LittleEndian(span[56..]) * 512);
        var backup = (int)(BinaryPrimitives.ReadInt64LittleEndian(span[48..]) * 512);
        var table = (int)(BinaryPrimitives.ReadUInt32LittleEndian(span[directory..]) * 512L);
        return
        [
            (shift, 512, "vmdk header"),
            (shift + 512, 512, "descriptor"),
            (shift + directory, 64, "grain directory"),
            (shift + backup, 64, "redundant grain directory"),
            (shift + table, 2048, "grain table"),
        ];
    }
}
