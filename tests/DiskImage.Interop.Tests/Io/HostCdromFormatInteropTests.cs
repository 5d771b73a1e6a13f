using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// An image format named over a <c>host_cdrom</c> drive without a disc (<c>-f FMT host_cdrom:PATH</c>, on
/// <c>/dev/null</c> and on a loop device, which are no CD-ROM drives): each format fails with its own line for the
/// header read that found no medium (or a size or read-only check before it), as qemu-img and qemu-io do, for
/// every verb that opens the image.
/// </summary>
public class HostCdromFormatInteropTests
{
    private static readonly string[] s_formats = ["qcow2", "vmdk", "vdi", "vhdx", "vpc", "qed", "qcow", "parallels", "bochs", "cloop", "dmg", "luks"];

    public static TheoryData<string, string, string> Lines()
    {
        var lines = new TheoryData<string, string, string>();
        foreach (var format in s_formats)
        {
            lines.Add("LOOP", "qemu-img", $"info -f {format} NAME");
            lines.Add("/dev/null", "qemu-img", $"info -f {format} NAME");
            lines.Add("LOOP", "qemu-img", $"convert -f {format} -O raw NAME OUT");
            lines.Add("/dev/null", "qemu-io", $"-f {format} -c read_0_512 NAME");
            lines.Add("LOOP", "qemu-io", $"-r -f {format} -c read_0_512 NAME");
        }

        lines.Add("LOOP", "qemu-img", "check -f qcow2 NAME");
        lines.Add("/dev/null", "qemu-img", "map -f qcow2 NAME");
        lines.Add("LOOP", "qemu-img", "map --output=json -f vpc NAME");
        return lines;
    }

    [Theory]
    [MemberData(nameof(Lines))]
    public void A_format_over_a_drive_without_a_disc_fails_as_in_qemu(string device, string tool, string line)
    {
        using var dir = new TempDirectory();
        var backing = dir.File("disc.img");
        File.WriteAllBytes(backing, new byte[1 << 20]);
        using var loop = device == "LOOP" ? LoopDevice.Attach(backing) : null;
        var path = loop?.Path ?? device;
        string[] words = [.. line.Split(' ').Select(w => w
            .Replace("NAME", "host_cdrom:" + path, StringComparison.Ordinal)
            .Replace("OUT", dir.File("out.img"), StringComparison.Ordinal)
            .Replace('_', ' '))];

        var theirs = ExternalTool.Run(tool, words);
        Assert.False(File.Exists(dir.File("out.img")));
        var ours = Diskimg.Run(tool == "qemu-io" ? ["io", .. words] : words);

        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(WithoutModuleNotices(QemuToolOutput.Normalise(theirs.StdErr)), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.False(File.Exists(dir.File("out.img")));
    }

    /// <summary>qemu-img's notices about its optional dmg decompression modules, which depend on the packages installed.</summary>
    private static string WithoutModuleNotices(string text) =>
        string.Concat(text.Split('\n').Where(l => !l.StartsWith("qemu: module ", StringComparison.Ordinal)).Select(l => l + "\n"))[..^1];
}
