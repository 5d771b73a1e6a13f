using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Vmdk;

/// <summary>VMDKs made by qemu-img read as qemu-img reads them; VMDKs we write pass qemu-img and vmdkinfo.</summary>
public class VmdkInteropTests
{
    public static TheoryData<string> Variants => new()
    {
        "subformat=monolithicSparse",
        "subformat=monolithicSparse,zeroed_grain=on",
        "subformat=monolithicFlat",
        "subformat=twoGbMaxExtentSparse",
        "subformat=twoGbMaxExtentFlat",
        "subformat=streamOptimized",
        "subformat=monolithicSparse,adapter_type=lsilogic,hwversion=7,toolsversion=10",
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Images_qemu_img_writes_read_identically_with_the_same_info_and_map(string options)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.vmdk");
        var source = dir.File("source.raw");
        // Data on both sides of the 2 GiB extent boundary, a partial grain and a zeroed run.
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "2200M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x5a 1M 192k", "-c", "write -P 0xa5 2047M 2M", "-c", "write -P 0x11 2100M 1000", source);
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", options, source, image);
        if (!options.Contains("streamOptimized", StringComparison.Ordinal))
        {
            ExternalTool.QemuIo("-f", "vmdk", "-c", "write -z 1M 64k", "-c", "write -P 0x77 3M 4k", image);
        }

        AssertReadsLikeQemu(dir, image);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", image), Diskimg.Ok("info", "--output=json", image));
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", image), Diskimg.Ok("map", "--output=json", image));
        Assert.Equal(ExternalTool.QemuImg("check", image), Diskimg.Ok("check", image));
    }

    [Fact]
    public void A_parent_chain_reads_through_and_a_changed_parent_is_refused_like_qemu()
    {
        using var dir = new TempDirectory();
        var parent = dir.File("parent.vmdk");
        var child = dir.File("child.vmdk");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", parent, "64M");
        ExternalTool.QemuIo("-f", "vmdk", "-c", "write -P 0x21 0 1M", "-c", "write -P 0x22 10M 100k", parent);
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", "-b", "parent.vmdk", "-F", "vmdk", child);
        ExternalTool.QemuIo("-f", "vmdk", "-c", "write -P 0x33 512k 1M", child);
        AssertReadsLikeQemu(dir, child);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", child), Diskimg.Ok("info", "--output=json", child));
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", child), Diskimg.Ok("map", "--output=json", child));

        // Writing the parent changes its CID: both tools now refuse to read the child's holes.
        ExternalTool.QemuIo("-f", "vmdk", "-c", "write -P 0x44 20M 4k", parent);
        Assert.NotEqual(0, ExternalTool.Run("qemu-img", "convert", "-O", "raw", child, dir.File("q.raw")).ExitCode);
        var ours = Diskimg.Run("convert", "-O", "raw", child, dir.File("d.raw"));
        Assert.NotEqual(0, ours.ExitCode);
        Assert.Single(ours.StdErr.TrimEnd('\n').Split('\n'));
    }

    public static TheoryData<string> WrittenVariants => new()
    {
        "monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized",
    };

    [Theory]
    [MemberData(nameof(WrittenVariants))]
    public void Images_we_write_pass_qemu_img_check_compare_and_vmdkinfo(string subformat)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.qcow2");
        var image = dir.File("out.vmdk");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", source, "2100M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x61 0 1M", "-c", "write -P 0x62 2047M 2M", "-c", "write -P 0x63 2099M 1M", source);
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "vmdk", "-o", "subformat=" + subformat, source, image);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", image).ExitCode);
        var compare = ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "vmdk", source, image);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
        var libyal = ExternalTool.Run("vmdkinfo", image);
        Assert.True(libyal.ExitCode == 0, libyal.StdOut + libyal.StdErr);
        Assert.Contains("2202009600 bytes", libyal.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_options_give_qemu_img_descriptor_and_a_child_points_at_its_parent()
    {
        using var dir = new TempDirectory();
        var parent = dir.File("base.vmdk");
        Diskimg.Ok("create", "-f", "vmdk", "-o", "zeroed_grain=on,adapter_type=buslogic,toolsversion=9", parent, "1G");
        Diskimg.Ok("create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", dir.File("child.vmdk"));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", parent).ExitCode);
        var info = ExternalTool.QemuImg("info", "--backing-chain", dir.File("child.vmdk"));
        Assert.Contains("backing file: base.vmdk", info, StringComparison.Ordinal);
        ExternalTool.QemuIo("-f", "vmdk", "-c", "write -P 0x10 0 64k", dir.File("child.vmdk"));
        AssertReadsLikeQemu(dir, dir.File("child.vmdk"));
        var text = File.ReadAllText(parent, System.Text.Encoding.Latin1);
        Assert.Contains("ddb.adapterType = \"buslogic\"", text, StringComparison.Ordinal);
        Assert.Contains("ddb.geometry.heads = \"255\"", text, StringComparison.Ordinal);
        Assert.Contains("ddb.toolsVersion = \"9\"", text, StringComparison.Ordinal);
        Assert.Equal(
            ExternalTool.Run("qemu-img", "create", "-f", "vmdk", "-o", "compat6=on,hwversion=7", dir.File("x.vmdk"), "1M").ExitCode,
            Diskimg.Run("create", "-f", "vmdk", "-o", "compat6=on,hwversion=7", dir.File("y.vmdk"), "1M").ExitCode);
    }

    private static void AssertReadsLikeQemu(TempDirectory dir, string image)
    {
        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");
        ExternalTool.QemuImg("convert", "-O", "raw", image, theirs);
        Diskimg.Ok("convert", "-O", "raw", image, ours);
        Assert.True(FilesEqual(theirs, ours), "raw conversions differ");
        File.Delete(theirs);
        File.Delete(ours);
    }

    internal static bool FilesEqual(string a, string b)
    {
        using var x = File.OpenRead(a);
        using var y = File.OpenRead(b);
        if (x.Length != y.Length)
        {
            return false;
        }

        var bx = new byte[1 << 20];
        var by = new byte[1 << 20];
        while (true)
        {
            var n = x.ReadAtLeast(bx, bx.Length, throwOnEndOfStream: false);
            y.ReadExactly(by, 0, n);
            if (!bx.AsSpan(0, n).SequenceEqual(by.AsSpan(0, n)))
            {
                return false;
            }

            if (n < bx.Length)
            {
                return true;
            }
        }
    }
}
