using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// The other direction: while a diskimg process holds an image, QEMU's own tools see it. The locks diskimg
/// holds are the bytes qemu-io holds for the same open, as the kernel's lock table shows, so qemu-img and
/// qemu-io refuse what they would refuse against one another.
/// </summary>
public class DiskimgHoldsImageTests
{
    [Fact]
    public void Qemu_tools_are_refused_an_image_diskimg_writes()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "16M");
        var before = Sha256(image);
        using var holder = ImageHolder.Diskimg(image, format: "qcow2");

        var info = ExternalTool.Run("qemu-img", "info", image);
        var write = ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", "write 0 512", image);
        var snapshot = ExternalTool.Run("qemu-img", "snapshot", "-c", "s1", image);
        var shared = ExternalTool.Run("qemu-img", "info", "-U", image);

        Assert.True(holder.IsRunning);
        Assert.Equal(1, info.ExitCode);
        Assert.Equal($"qemu-img: Could not open '{image}': Failed to get shared \"write\" lock\nIs another process using the image [{image}]?\n", info.StdErr);
        Assert.Equal(1, write.ExitCode);
        Assert.Contains("Failed to get \"write\" lock", write.StdErr, StringComparison.Ordinal);
        Assert.Equal(1, snapshot.ExitCode);
        Assert.Contains("Failed to get \"write\" lock", snapshot.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, shared.ExitCode);
        Assert.Equal(before, Sha256(image));
    }

    [Fact]
    public void A_backing_file_diskimg_reads_cannot_be_committed_into_by_qemu_img()
    {
        using var dir = new TempDirectory();
        var backing = dir.File("base.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", backing, "16M");
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x22 0 64k", overlay);
        var before = Sha256(backing);
        using var holder = ImageHolder.Diskimg(backing, readOnly: true, format: "qcow2");

        var commit = ExternalTool.Run("qemu-img", "commit", overlay);

        Assert.True(holder.IsRunning);
        Assert.Equal(1, commit.ExitCode);
        Assert.Equal($"qemu-img: Failed to get \"write\" lock\nIs another process using the image [{backing}]?\n", commit.StdErr);
        Assert.Equal(before, Sha256(backing));
    }

    [Theory]
    [InlineData("qcow2", false)]
    [InlineData("qcow2", true)]
    [InlineData("raw", false)]
    [InlineData("raw", true)]
    public void Diskimg_holds_the_bytes_qemu_io_holds(string format, bool readOnly)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk." + format);
        ExternalTool.QemuImg("create", "-q", "-f", format, image, "16M");

        IReadOnlyList<int> theirs, ours;
        using (ImageHolder.QemuIo(image, readOnly, format))
        {
            theirs = LockTable.HeldBytes(image);
        }

        using (ImageHolder.Diskimg(image, readOnly, format))
        {
            ours = LockTable.HeldBytes(image);
        }

        Assert.NotEmpty(theirs);
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public void Raw_writers_share_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        using var holder = ImageHolder.Diskimg(image, format: "raw");

        // A raw writer lets others write too, in QEMU and here; the judge is qemu-io itself.
        var write = ExternalTool.Run("qemu-io", "-f", "raw", "-c", "write -P 0x33 0 512", image);

        Assert.True(holder.IsRunning);
        Assert.Equal(0, write.ExitCode);
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
