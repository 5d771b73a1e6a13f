using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// amend checks every requested change before it writes anything: a refusal leaves the file byte for byte as
/// it was, with qemu-img's message and exit code. The accepted combinations must end where qemu-img's do.
/// </summary>
public class AmendAllOrNothingInteropTests
{
    /// <summary>Image of QEMU's test 061 "resize with snapshots": v3, 64 MiB, snapshots of 32 MiB and 128 MiB.</summary>
    private static string SnapshotsOfTwoSizes(TempDirectory dir, string name)
    {
        var image = dir.File(name);
        Qcow2Oracle.Create(image, "32M", "compat=0.10");
        Qcow2Oracle.Io(image, "write -P 0x2a 24M 64k");
        ExternalTool.QemuImg("snapshot", "-c", "foo", image);
        ExternalTool.QemuImg("amend", "-o", "compat=1.1,size=128M", image);
        ExternalTool.QemuImg("snapshot", "-c", "bar", image);
        ExternalTool.QemuImg("resize", "-q", "--shrink", image, "64M");
        return image;
    }

    [Theory]
    [InlineData("compat=0.10,size=32M")]
    [InlineData("compat=0.10")]
    [InlineData("compat=0.10,size=128M")]
    public void A_downgrade_refused_for_snapshots_of_another_size_writes_nothing(string options)
    {
        using var dir = new TempDirectory();
        var image = SnapshotsOfTwoSizes(dir, "ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        File.Copy(image, theirs);
        var before = File.ReadAllBytes(image);

        var expected = ExternalTool.Run("qemu-img", "amend", "-o", options, theirs);
        var actual = Diskimg.Run("amend", "-o", options, image);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal("diskimg: Internal snapshots prevent downgrade of image", actual.StdErr.Trim());
        Assert.Equal(expected.StdErr.Trim().Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), actual.StdErr.Trim());
        Assert.Equal(before, File.ReadAllBytes(image));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", image).ExitCode);
    }

    [Fact]
    public void The_061_sequence_ends_like_qemu_img_s()
    {
        using var dir = new TempDirectory();
        var ours = SnapshotsOfTwoSizes(dir, "ours.qcow2");
        var theirs = SnapshotsOfTwoSizes(dir, "theirs.qcow2");
        foreach (var step in new[] { "snapshot -a bar", "snapshot -d bar", "amend -o compat=0.10,size=32M" })
        {
            var words = step.Split(' ');
            var expected = ExternalTool.Run("qemu-img", [.. words, theirs]);
            var actual = Diskimg.Run([.. words, ours]);
            Assert.True(expected.ExitCode == actual.ExitCode, $"{step}: qemu-img {expected.ExitCode} {expected.StdErr}, diskimg {actual.ExitCode} {actual.StdErr}");
            Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        }

        var info = ExternalTool.QemuImg("info", ours);
        Assert.Contains("compat: 0.10", info, StringComparison.Ordinal);
        Assert.Contains("virtual size: 32 MiB", info, StringComparison.Ordinal);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
        Assert.Equal(ExternalTool.QemuImg("snapshot", "-l", theirs).Split('\n').Length, ExternalTool.QemuImg("snapshot", "-l", ours).Split('\n').Length);
    }

    [Fact]
    public void A_version_2_resize_with_snapshots_is_refused_before_anything_is_written()
    {
        using var dir = new TempDirectory();
        var image = dir.File("v2.qcow2");
        Qcow2Oracle.Create(image, "32M", "compat=0.10");
        ExternalTool.QemuImg("snapshot", "-c", "foo", image);
        var theirs = dir.File("theirs.qcow2");
        File.Copy(image, theirs);
        var before = File.ReadAllBytes(image);

        // lazy_refcounts=off is a no-op request; the size change must be refused with the file untouched.
        var expected = ExternalTool.Run("qemu-img", "amend", "-o", "lazy_refcounts=off,size=64M", theirs);
        var actual = Diskimg.Run("amend", "-o", "lazy_refcounts=off,size=64M", image);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(before, File.ReadAllBytes(image));
    }
}
