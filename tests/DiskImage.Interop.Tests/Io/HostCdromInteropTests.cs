using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// <c>host_cdrom</c> on a device that is no CD-ROM drive (a character device, a loop device): QEMU's driver asks the
/// drive whether it holds a disc before each request, and without one the block layer has no medium. qemu-io and
/// diskimg io run the same commands on the same device and must print the same.
/// </summary>
public class HostCdromInteropTests
{
    public static TheoryData<string, string> Commands => new()
    {
        { "/dev/null", "length" },
        { "/dev/null", "read 0 512" },
        { "/dev/null", "write 0 512" },
        { "/dev/null", "discard 0 512" },
        { "/dev/null", "write -z 0 512" },
        { "/dev/null", "truncate 0" },
        { "/dev/null", "map" },
        { "/dev/null", "alloc 0 512" },
        { "/dev/null", "info" },
        { "LOOP", "length" },
        { "LOOP", "read 0 512" },
        { "LOOP", "write 0 512" },
        { "LOOP", "map" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Requests_without_a_disc_fail_as_qemu_io_does(string device, string command)
    {
        using var dir = new TempDirectory();
        using var loop = device == "LOOP" ? LoopDevice.Attach(Backing(dir)) : null;
        var path = loop?.Path ?? device;
        string[] arguments = ["-c", command, "-c", "length", "--image-opts", $"driver=host_cdrom,filename={path}"];

        var theirs = ExternalTool.Run("qemu-io", arguments);
        var ours = Diskimg.Run(["io", .. arguments]);

        // The refusal is the point: qemu-io must have seen no medium, or the comparison proves nothing.
        Assert.Contains("No medium found", theirs.StdOut + theirs.StdErr, StringComparison.Ordinal);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    [Fact]
    public void Info_on_a_drive_without_a_disc_prints_what_qemu_img_prints()
    {
        string[] arguments = ["info", "--image-opts", "driver=host_cdrom,filename=/dev/null"];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var ours = Diskimg.Run(arguments);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>
    /// The drive named by its prefix (raw over the drive's node) or with <c>-f host_cdrom</c>: qemu-img's size
    /// refusals (map prints its header first) and qemu-io's <c>No medium found</c>, as QEMU's block backend asks every
    /// node below it for the medium.
    /// </summary>
    [Theory]
    [InlineData("/dev/null", "qemu-img", "map NAME")]
    [InlineData("/dev/null", "qemu-img", "map -f host_cdrom PATH")]
    [InlineData("/dev/null", "qemu-img", "map --output=json NAME")]
    [InlineData("LOOP", "qemu-img", "map --output=json -f host_cdrom PATH")]
    [InlineData("LOOP", "qemu-img", "map NAME")]
    [InlineData("/dev/null", "qemu-img", "compare NAME OTHER")]
    [InlineData("LOOP", "qemu-img", "compare OTHER NAME")]
    [InlineData("/dev/null", "qemu-img", "dd if=NAME of=OUT")]
    [InlineData("LOOP", "qemu-img", "dd -f host_cdrom -O qcow2 if=PATH of=OUT")]
    [InlineData("/dev/null", "qemu-io", "-c read_0_512 NAME")]
    [InlineData("LOOP", "qemu-io", "-c read_0_512 NAME")]
    [InlineData("LOOP", "qemu-io", "-f raw -c write_0_512 NAME")]
    [InlineData("/dev/null", "qemu-io", "-c length NAME")]
    [InlineData("LOOP", "qemu-io", "-c info NAME")]
    [InlineData("/dev/null", "qemu-io", "-c map NAME")]
    public void Prefixed_drive_without_a_disc_fails_as_qemu_does(string device, string tool, string line)
    {
        using var dir = new TempDirectory();
        using var loop = device == "LOOP" ? LoopDevice.Attach(Backing(dir)) : null;
        var path = loop?.Path ?? device;
        var other = Backing(dir);
        string[] words = [.. line.Split(' ').Select(w => w
            .Replace("NAME", "host_cdrom:" + path, StringComparison.Ordinal)
            .Replace("PATH", path, StringComparison.Ordinal)
            .Replace("OTHER", other, StringComparison.Ordinal)
            .Replace("OUT", dir.File("out.img"), StringComparison.Ordinal)
            .Replace('_', ' '))];

        var theirs = ExternalTool.Run(tool, words);
        File.Delete(dir.File("out.img"));
        var ours = Diskimg.Run(tool == "qemu-io" ? ["io", .. words] : words);

        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>qemu-io's <c>info</c> names a host driver twice (as format and as protocol), then its information.</summary>
    [Theory]
    [InlineData("host_device", "/dev/null")]
    [InlineData("file", "FILE")]
    public void Info_on_a_host_driver_prints_what_qemu_io_prints(string driver, string file)
    {
        using var dir = new TempDirectory();
        var path = file == "FILE" ? Backing(dir) : file;
        string[] arguments = ["-r", "-c", "info", "--image-opts", $"driver={driver},filename={path}"];
        var theirs = ExternalTool.Run("qemu-io", arguments);
        var ours = Diskimg.Run(["io", .. arguments]);
        Assert.Contains($"format name: {driver}\nformat name: {driver}\n", theirs.StdOut, StringComparison.Ordinal);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    private static string Backing(TempDirectory dir)
    {
        var file = dir.File("disc.img");
        var data = new byte[1 << 20];
        data.AsSpan().Fill(0x6b);
        File.WriteAllBytes(file, data);
        return file;
    }
}
