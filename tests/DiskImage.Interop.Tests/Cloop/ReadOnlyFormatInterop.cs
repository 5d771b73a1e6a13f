using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Migration;

namespace DiskImage.Interop.Tests.Cloop;

/// <summary>Shared steps of the bochs and cloop interop tests: one command run by both tools, the outputs compared.</summary>
internal static class ReadOnlyFormatInterop
{
    /// <summary>
    /// qemu-img (or qemu-io, for <c>io</c>) and diskimg run <paramref name="arguments"/>; exit code, stdout and stderr
    /// must be the same, the program name and qemu-io's timings aside.
    /// </summary>
    public static void AssertSame(params string[] arguments)
    {
        var theirs = arguments[0] == "io" ? ExternalTool.Run("qemu-io", arguments[1..]) : ExternalTool.Run("qemu-img", arguments);
        var ours = Diskimg.Run(arguments);
        var what = string.Join(' ', arguments);
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{what}: qemu exits {theirs.ExitCode} ({theirs.StdErr.Trim()}), diskimg {ours.ExitCode} ({ours.StdErr.Trim()})");
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
    }

    /// <summary>
    /// Everything a reader does, against qemu-img: probed info (both outputs), map (both), convert to raw (byte for
    /// byte qemu-img's and <paramref name="expectedRaw"/>'s), convert to qcow2 (qemu-img compare), compare, measure,
    /// check, dd.
    /// </summary>
    public static void AssertReadsAsQemu(TempDirectory dir, string image, string format, byte[] expectedRaw)
    {
        AssertSame("info", image);
        AssertSame("info", "--output=json", image);
        MigrationInterop.AssertReadsAsQemu(dir, image, format);
        Assert.Equal(expectedRaw, File.ReadAllBytes(dir.File("ours.raw")));

        var qcow2 = dir.File("ours.qcow2");
        Diskimg.Ok("convert", "-O", "qcow2", image, qcow2);
        Assert.Equal("No errors were found on the image.", ExternalTool.QemuImg("check", qcow2).Split('\n')[0]);
        MigrationInterop.AssertSameContent(image, format, qcow2, "qcow2");

        AssertSame("compare", image, dir.File("theirs.raw"));
        AssertSame("compare", "-f", format, "-F", "qcow2", image, qcow2);
        AssertSame("measure", "-O", "qcow2", image);
        AssertSame("measure", "--output=json", "-O", "raw", image);
        AssertSame("check", image);
        AssertSame("check", "--output=json", image);

        var theirDd = dir.File("dd-theirs.raw");
        var ourDd = dir.File("dd-ours.raw");
        ExternalTool.QemuImg("dd", "-O", "raw", "bs=4k", "skip=3", "count=20", $"if={image}", $"of={theirDd}");
        Diskimg.Ok("dd", "-O", "raw", "bs=4k", "skip=3", "count=20", $"if={image}", $"of={ourDd}");
        Assert.Equal(File.ReadAllBytes(theirDd), File.ReadAllBytes(ourDd));
    }

    /// <summary>Every verb that opens for writing or creates is refused in qemu's words and exit codes.</summary>
    public static void AssertWritesRefused(TempDirectory dir, string image, string format)
    {
        AssertSame("io", "-f", format, "-c", "read 0 512", image);
        AssertSame("io", "-c", "write 0 512", image);
        AssertSame("resize", image, "10M");
        AssertSame("commit", image);
        AssertSame("commit", "-f", format, image);
        AssertSame("commit", "-f", format == "bochs" ? "cloop" : "bochs", image);
        AssertSame("snapshot", "-c", "s1", image);
        AssertSame("snapshot", "-l", image);
        AssertSame("amend", "-o", "size=10M", image);
        AssertSame("rebase", "-u", "-b", "", image);
        AssertSame("create", "-f", format, dir.File("new.img"), "1M");
        AssertSame("convert", "-O", format, image, dir.File("new.img"));
        Assert.False(File.Exists(dir.File("new.img")));
    }
}
