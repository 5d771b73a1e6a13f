using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>ISOs built by <c>diskimg iso create</c>, judged by osirrox, xorriso and isoinfo.</summary>
public class IsoBuilderInteropTests
{
    [Fact]
    public void Osirrox_extracts_the_original_tree_exactly_with_modes_and_times()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        AwkwardTree.Create(tree);
        var iso = dir.File("out.iso");
        Diskimg.Ok("iso", "create", "-o", iso, "-V", "AWKWARD", "-J", "-R", tree);

        var extracted = dir.File("osirrox");
        ExternalTool.Run("osirrox", "-indev", iso, "-extract", "/", extracted).EnsureSuccess("osirrox -extract");
        TreeSnapshot.AssertEqual(TreeSnapshot.Of(tree), TreeSnapshot.Of(extracted));
        Assert.Equal(0, ExternalTool.Run("diff", "-r", "--no-dereference", tree, extracted).ExitCode);
    }

    [Fact]
    public void Rationalized_rock_ridge_gives_the_modes_genisoimage_gives()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        AwkwardTree.Create(tree);
        Diskimg.Ok("iso", "create", "-o", dir.File("ours.iso"), "-r", tree);
        ExternalTool.Run("genisoimage", "-quiet", "-r", "-o", dir.File("theirs.iso"), tree).EnsureSuccess("genisoimage -r");
        ExternalTool.Run("osirrox", "-indev", dir.File("ours.iso"), "-extract", "/", dir.File("ours")).EnsureSuccess("osirrox");
        ExternalTool.Run("osirrox", "-indev", dir.File("theirs.iso"), "-extract", "/", dir.File("theirs")).EnsureSuccess("osirrox");

        var theirs = TreeSnapshot.Of(dir.File("theirs"));
        theirs.Remove("rr_moved");
        TreeSnapshot.AssertEqual(theirs, TreeSnapshot.Of(dir.File("ours")));
    }

    [Fact]
    public void Isoinfo_sees_volume_id_joliet_and_rock_ridge()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        AwkwardTree.Create(tree);
        var iso = dir.File("out.iso");
        Diskimg.Ok("iso", "create", "-o", iso, "-V", "MY_VOLUME", "-J", "-R", tree);

        var description = ExternalTool.Run("isoinfo", "-d", "-i", iso).EnsureSuccess("isoinfo -d").StdOut;
        Assert.Contains("Volume id: MY_VOLUME", description, StringComparison.Ordinal);
        Assert.Contains("Joliet with UCS level 3 found", description, StringComparison.Ordinal);
        Assert.Contains("Rock Ridge signatures version 1 found", description, StringComparison.Ordinal);

        // The Joliet tree lists exactly the names genisoimage -J -R gives the same tree (64-unit cut included).
        ExternalTool.Run("genisoimage", "-quiet", "-J", "-R", "-o", dir.File("theirs.iso"), tree).EnsureSuccess("genisoimage");
        string[] JolietNames(string image) => ExternalTool.Run("isoinfo", "-J", "-f", "-i", image).EnsureSuccess("isoinfo -J -f").StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray();
        var ours = JolietNames(iso);
        Assert.Equal(JolietNames(dir.File("theirs.iso")), ours);
        Assert.Contains("/" + new string('n', 64), ours);
        Assert.Equal(TreeSnapshot.Entries(tree).Count, ours.Length);
    }

    [Fact]
    public void El_torito_bios_and_uefi_entries_are_what_xorriso_reports()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "boot"));
        Directory.CreateDirectory(Path.Combine(tree, "EFI"));
        var bios = new byte[6000];
        new Random(1).NextBytes(bios);
        File.WriteAllBytes(Path.Combine(tree, "boot", "isolinux.bin"), bios);
        File.WriteAllBytes(Path.Combine(tree, "EFI", "efiboot.img"), new byte[1440 * 1024]);
        var iso = dir.File("boot.iso");
        Diskimg.Ok("iso", "create", "-o", iso, "-V", "BOOTABLE", "-J", "-R",
            "-b", "boot/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-c", "boot/boot.cat",
            "-eltorito-alt-boot", "-e", "EFI/efiboot.img", "-no-emul-boot", tree);

        var report = ExternalTool.Run("xorriso", "-indev", iso, "-report_el_torito", "plain").EnsureSuccess("xorriso -report_el_torito").StdOut;
        var images = report.Split('\n').Where(l => l.StartsWith("El Torito boot img :", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(2, images.Count);
        Assert.Equal(["1", "BIOS", "y", "none", "0x0000", "0x00", "4"], images[0][5..12]);
        Assert.Equal(["2", "UEFI", "y", "none", "0x0000", "0x00", "2880"], images[1][5..12]);
        Assert.Contains("El Torito cat path : /boot/boot.cat", report, StringComparison.Ordinal);
        Assert.Contains("El Torito img path :   1  /boot/isolinux.bin", report, StringComparison.Ordinal);
        Assert.Contains("El Torito img opts :   1  boot-info-table", report, StringComparison.Ordinal);
        Assert.Contains("El Torito img path :   2  /EFI/efiboot.img", report, StringComparison.Ordinal);

        // The copy in the image carries the patched table; the rest of the file is unchanged.
        var extracted = dir.File("isolinux.bin");
        ExternalTool.Run("osirrox", "-indev", iso, "-extract", "/boot/isolinux.bin", extracted).EnsureSuccess("osirrox");
        var copy = File.ReadAllBytes(extracted);
        Assert.Equal(bios[..8], copy[..8]);
        Assert.Equal(bios[64..], copy[64..]);
        Assert.Equal(16u, BitConverter.ToUInt32(copy, 8));
        Assert.Equal((uint)bios.Length, BitConverter.ToUInt32(copy, 16));
        var sum = 0u;
        for (var i = 64; i < bios.Length; i += 4)
        {
            sum += BitConverter.ToUInt32(bios, i);
        }

        Assert.Equal(sum, BitConverter.ToUInt32(copy, 20));
    }

    [Fact]
    public void Two_builds_with_the_same_source_date_epoch_are_byte_identical()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        AwkwardTree.Create(tree);
        File.WriteAllBytes(Path.Combine(tree, "boot.bin"), new byte[4096]);
        string[] Arguments(string output) => ["iso", "create", "-o", output, "-V", "REPRO", "-J", "-R", "-b", "boot.bin", "-no-emul-boot",
            "-boot-load-size", "4", "-boot-info-table", "--source-date-epoch", "1700000000", tree];
        Diskimg.Ok(Arguments(dir.File("one.iso")));
        File.ReadAllBytes(Path.Combine(tree, "blob.bin"));
        Diskimg.Ok(Arguments(dir.File("two.iso")));

        Assert.Equal(SHA256.HashData(File.ReadAllBytes(dir.File("one.iso"))), SHA256.HashData(File.ReadAllBytes(dir.File("two.iso"))));
        var description = ExternalTool.Run("xorriso", "-indev", dir.File("one.iso"), "-pvd_info").EnsureSuccess("xorriso -pvd_info").StdOut;
        Assert.Contains("Creation Time: 2023111422132000", description, StringComparison.Ordinal);
    }

    [Fact]
    public void Cloud_init_seed_has_cidata_and_both_files_under_joliet_and_rock_ridge()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("ud"), "#cloud-config\npassword: x\n");
        File.WriteAllText(dir.File("md"), "instance-id: test-1\n");
        var seed = dir.File("seed.iso");
        Diskimg.Ok("iso", "cloud-init", "-o", seed, "--user-data", dir.File("ud"), "--meta-data", dir.File("md"));

        Assert.Contains("Volume id: cidata", ExternalTool.Run("isoinfo", "-d", "-i", seed).EnsureSuccess("isoinfo -d").StdOut, StringComparison.Ordinal);
        foreach (var mode in new[] { "-J", "-R" })
        {
            var names = ExternalTool.Run("isoinfo", mode, "-f", "-i", seed).EnsureSuccess("isoinfo -f").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["/meta-data", "/user-data"], names.Order(StringComparer.Ordinal));
        }

        var extracted = dir.File("x");
        ExternalTool.Run("osirrox", "-indev", seed, "-extract", "/", extracted).EnsureSuccess("osirrox");
        Assert.Equal(File.ReadAllText(dir.File("ud")), File.ReadAllText(Path.Combine(extracted, "user-data")));
        Assert.Equal(File.ReadAllText(dir.File("md")), File.ReadAllText(Path.Combine(extracted, "meta-data")));
    }
}
