using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Raw;

/// <summary>
/// A block device read as an image, as a VM's disk on a logical volume is converted or inspected: its size is not in
/// stat, so a reader that trusts stat sees an empty disk. The device is a loop device over a file with data at both
/// ends; qemu-img's view of the same device is the expectation.
/// </summary>
public class BlockDeviceSourceTests
{
    [Theory]
    [InlineData("info", "-f", "raw", "{dev}")]
    [InlineData("info", "--output=json", "{dev}")]
    [InlineData("info", "--image-opts", "driver=raw,file.driver=host_device,file.filename={dev}")]
    [InlineData("map", "--output=json", "-f", "raw", "{dev}")]
    public void Inspecting_a_device_reports_what_qemu_img_reports(params string[] command)
    {
        using var dir = new TempDirectory();
        using var loop = LoopDevice.Attach(BackingFile(dir));
        var args = command.Select(a => a.Replace("{dev}", loop.Path, StringComparison.Ordinal)).ToArray();

        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);

        Assert.Equal(0, theirs.ExitCode);
        Assert.Contains("4 MiB", ExternalTool.Run("qemu-img", "info", "-f", "raw", loop.Path).StdOut, StringComparison.Ordinal);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("raw")]
    public void Converting_a_device_copies_all_of_it(string format)
    {
        using var dir = new TempDirectory();
        using var loop = LoopDevice.Attach(BackingFile(dir));
        var output = dir.File("out." + format);

        var ours = Diskimg.Run("convert", "-f", "raw", "-O", format, loop.Path, output);

        Assert.Equal(0, ours.ExitCode);
        ExternalTool.QemuImg("compare", "-f", "raw", "-F", format, loop.Path, output);
        Assert.Contains("virtual size: 4 MiB", ExternalTool.QemuImg("info", "-f", format, output), StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_the_last_sector_of_a_device_gives_its_bytes()
    {
        using var dir = new TempDirectory();
        using var loop = LoopDevice.Attach(BackingFile(dir));
        string[] args = ["-f", "raw", "-c", "read -P 0x5a 4193792 512", "-c", "length", loop.Path];

        var theirs = ExternalTool.Run("qemu-io", args);
        var ours = Diskimg.Run(["io", .. args]);

        Assert.Equal(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
    }

    /// <summary>A 4 MiB file with a pattern in its first 64 KiB and in its last sector.</summary>
    private static string BackingFile(TempDirectory dir)
    {
        var file = dir.File("device.img");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", file, "4M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x6b 0 64k", "-c", "write -P 0x5a 4193792 512", file);
        return file;
    }
}
