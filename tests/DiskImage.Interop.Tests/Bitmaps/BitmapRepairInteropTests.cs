using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// <c>check -r all</c> on images whose bitmaps are inconsistent, lost to an old writer (their clusters leak) or
/// broken: the same report, exit code and repaired image state as qemu-img's.
/// </summary>
public class BitmapRepairInteropTests
{
    [Theory]
    [InlineData("in use")]
    [InlineData("autoclear bit clear")]
    [InlineData("table entry reserved bits")]
    public void Check_repair_matches_qemu_img(string name)
    {
        using var dir = new TempDirectory();
        var image = QemuBitmapImage.Create(dir.File("template.qcow2"));
        switch (name)
        {
            case "in use": BitmapVerbInteropTests.MakeInconsistent(image.Path); break;
            case "autoclear bit clear": image.WriteU64(88, 0); break;
            default: image.WriteU64(image.FirstTableOffset, image.ReadU64(image.FirstTableOffset) | 2); break;
        }

        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        File.Copy(image.Path, theirs);
        File.Copy(image.Path, ours);
        var expected = ExternalTool.Run("qemu-img", "check", "-r", "all", theirs);
        var actual = Diskimg.Run("check", "-r", "all", ours);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut, actual.StdOut);
        Assert.Equal(
            BitmapVerbInteropTests.ErrorLines(expected.StdErr.Replace(theirs, "IMAGE", StringComparison.Ordinal)
                .Replace("Some clusters may be leaked, run 'qemu-img check -r' on the image file to fix.", "\n", StringComparison.Ordinal), "qemu-img: ").Where(l => !l.StartsWith("warning: a program lacking", StringComparison.Ordinal)),
            BitmapVerbInteropTests.ErrorLines(actual.StdErr.Replace(ours, "IMAGE", StringComparison.Ordinal), "diskimg: "));
        var after = ExternalTool.Run("qemu-img", "info", "--output=json", theirs);
        Assert.Equal(after.ExitCode, ExternalTool.Run("qemu-img", "info", "--output=json", ours).ExitCode);
        if (after.ExitCode == 0)
        {
            Assert.Equal(BitmapVerbInteropTests.BitmapsOf(theirs), BitmapVerbInteropTests.BitmapsOf(ours));
            Assert.Equal(ExternalTool.Run("qemu-img", "check", theirs).StdOut, ExternalTool.Run("qemu-img", "check", ours).StdOut);
        }
    }
}
