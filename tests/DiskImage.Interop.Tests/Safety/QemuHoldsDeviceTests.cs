using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// A block device that qemu-io holds as a qcow2 image, as a running VM holds a disk on a logical volume: creating a
/// raw image on it (which zeroes its first sector) or converting onto it is refused by both tools with the same
/// lines and exit code, and the device's bytes stay as they were. The device is a loop device over a file.
/// </summary>
public class QemuHoldsDeviceTests
{
    [Theory]
    [InlineData("create -f raw {dev} 1M")]
    [InlineData("create -f raw {dev} 0")]
    [InlineData("convert -O raw {src} {dev}")]
    [InlineData("convert -n -O raw {src} {dev}")]
    [InlineData("dd if={src} of={dev} -O raw")]
    public void Writing_a_device_qemu_holds_is_refused_and_changes_nothing(string command)
    {
        using var dir = new TempDirectory();
        var backing = dir.File("disk.img");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", backing, "4M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x6b 0 64k", backing);
        ExternalTool.Run("truncate", "-s", "16M", backing).EnsureSuccess("truncate");
        var source = dir.File("source.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "1M");
        using var loop = LoopDevice.Attach(backing);
        var before = Sha256(loop.Path);
        using var holder = ImageHolder.QemuIo(loop.Path, format: "qcow2");
        var args = command.Split(' ').Select(a => a.Replace("{dev}", loop.Path, StringComparison.Ordinal).Replace("{src}", source, StringComparison.Ordinal)).ToArray();

        var theirs = ExternalTool.Run("qemu-img", args);
        var afterTheirs = Sha256(loop.Path);
        var ours = Diskimg.Run(args);

        Assert.True(holder.IsRunning);
        Assert.Equal(before, afterTheirs);
        Assert.Equal(before, Sha256(loop.Path));
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
