using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>qemu-img 7.2's vmdk, vpc and vhdx drivers cannot resize; we refuse as it refuses, and leave the image alone.</summary>
public class ResizeRefusalInteropTests
{
    [Theory]
    [InlineData("vmdk", "subformat=monolithicSparse")]
    [InlineData("vmdk", "subformat=monolithicFlat")]
    [InlineData("vmdk", "subformat=twoGbMaxExtentSparse")]
    [InlineData("vmdk", "subformat=streamOptimized")]
    [InlineData("vpc", "subformat=dynamic")]
    [InlineData("vhdx", "subformat=dynamic")]
    public void Resize_is_refused_with_qemu_img_s_line(string format, string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("r." + format);
        ExternalTool.QemuImg("create", "-q", "-f", format, "-o", options, path, "10M");
        var before = File.ReadAllBytes(path);
        foreach (var size in new[] { "20M", "+1M" })
        {
            var theirs = ExternalTool.Run("qemu-img", "resize", "-f", format, path, size);
            var ours = Diskimg.Run("resize", "-f", format, path, size);
            Assert.NotEqual(0, theirs.ExitCode);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        }

        Assert.Equal(before, File.ReadAllBytes(path));
    }
}
