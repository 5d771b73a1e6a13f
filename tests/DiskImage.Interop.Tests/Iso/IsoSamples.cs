using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>ISO images made by the reference tools from <see cref="AwkwardTree"/>, plus Debian's shipped ISOs; built once per test class.</summary>
public sealed class IsoSamples : IDisposable
{
    private readonly TempDirectory _dir = new();

    public IsoSamples()
    {
        Tree = _dir.File("tree");
        Directory.CreateDirectory(Tree);
        AwkwardTree.Create(Tree);
        ExternalTool.Run("genisoimage", "-quiet", "-J", "-R", "-V", "GENVOL", "-o", _dir.File("genisoimage.iso"), Tree).EnsureSuccess("genisoimage");
        ExternalTool.Run("xorriso", "-as", "mkisofs", "-J", "-R", "-V", "XASVOL", "-o", _dir.File("xorriso-mkisofs.iso"), Tree).EnsureSuccess("xorriso -as mkisofs");
        File.WriteAllBytes(_dir.File("partition.img"), new byte[100 * 1024]);
        ExternalTool.Run("xorriso", "-as", "mkisofs", "-J", "-R", "-V", "HYBRID", "-o", _dir.File("xorriso-hybrid-gpt.iso"),
            "-append_partition", "2", "0xef", _dir.File("partition.img"), "-appended_part_as_gpt", Tree).EnsureSuccess("xorriso hybrid");
        ExternalTool.Run("xorriso", "-as", "mkisofs", "-R", "-V", "HYBRIDMBR", "-o", _dir.File("xorriso-hybrid-mbr.iso"),
            "-append_partition", "2", "0xef", _dir.File("partition.img"), Tree).EnsureSuccess("xorriso hybrid");
        ExternalTool.Run("genisoimage", "-quiet", "-iso-level", "4", "-V", "LEVEL4", "-o", _dir.File("genisoimage-iso-level-4.iso"), Tree).EnsureSuccess("genisoimage -iso-level 4");
        ExternalTool.Run("xorriso", "-outdev", _dir.File("xorriso-native.iso"), "-volid", "XNATIVE", "-joliet", "on", "-map", Tree, "/").EnsureSuccess("xorriso native");
    }

    /// <summary>Names accepted by <see cref="Image"/>.</summary>
    public static TheoryData<string> Names => new() { "genisoimage", "xorriso-mkisofs", "xorriso-native", "xorriso-hybrid-gpt", "xorriso-hybrid-mbr", "debian-ipxe", "debian-grub-rescue" };

    public string Tree { get; }

    public static string Image(IsoSamples samples, string name) => name switch
    {
        "debian-ipxe" => Debian("/usr/lib/ipxe/ipxe.iso"),
        "debian-grub-rescue" => Debian("/usr/lib/grub-rescue/grub-rescue-cdrom.iso"),
        _ => samples._dir.File(name + ".iso"),
    };

    public void Dispose() => _dir.Dispose();

    private static string Debian(string path) => File.Exists(path) ? path
        : throw new InvalidOperationException($"'{path}' is missing; ./test.sh installs the ipxe and grub-rescue-pc packages that ship it.");
}
