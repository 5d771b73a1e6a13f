using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;
using static DiskImage.Interop.Tests.Lifecycle.LifecycleOracle;

namespace DiskImage.Interop.Tests.Lifecycle;

public class AmendInteropTests
{
    [Fact]
    public void Compat_and_lazy_refcounts_change_in_place_without_changing_content()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "2M");
        var model = new byte[2 * MiB];
        Write(image, model, 70_000, 200_000, 6);
        Qcow2Oracle.Io(image, "write -z 512k 128k");
        model.AsSpan(512 * 1024, 128 * 1024).Clear();
        Diskimg.Ok("amend", "-o", "compat=0.10", image);
        Assert.Contains("compat: 0.10", ExternalTool.QemuImg("info", image), StringComparison.Ordinal);
        AssertClean(image);
        AssertContent(image, model);
        Diskimg.Ok("amend", "-o", "compat=1.1,lazy_refcounts=on", image);
        var info = ExternalTool.QemuImg("info", image);
        Assert.Contains("compat: 1.1", info, StringComparison.Ordinal);
        Assert.Contains("lazy refcounts: true", info, StringComparison.Ordinal);
        AssertClean(image);
        AssertContent(image, model);
        Diskimg.Ok("amend", "-o", "lazy_refcounts=off,size=3M", image);
        Array.Resize(ref model, 3 * MiB);
        Assert.Contains("lazy refcounts: false", ExternalTool.QemuImg("info", image), StringComparison.Ordinal);
        AssertClean(image);
        AssertContent(image, model);
    }

    [Fact]
    public void Refusals_use_qemu_img_wording()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "1M", "refcount_bits=8");
        Assert.Equal("diskimg: compat=0.10 requires refcount_bits=16", Diskimg.Run("amend", "-o", "compat=0.10", image).StdErr.Trim());
        Assert.Equal("diskimg: Cannot amend the backing file\nYou can use 'qemu-img rebase' instead.", Diskimg.Run("amend", "-o", "backing_file=x", image).StdErr.Trim());
        Assert.Equal("diskimg: Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)",
            Diskimg.Run("amend", "-o", "compat=0.10,lazy_refcounts=on", image).StdErr.Trim());
        var extended = dir.File("x.qcow2");
        Qcow2Oracle.Create(extended, "1M", "extended_l2=on");
        Assert.Equal("diskimg: Cannot downgrade an image with incompatible features 0x10 set", Diskimg.Run("amend", "-o", "compat=0.10", extended).StdErr.Trim());
        AssertClean(image);
        AssertClean(extended);
    }
}
