using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// Every format driver takes QEMU's image locks on the files it opens (the image, and a vmdk's extents): while
/// qemu-io holds one for writing, diskimg's writes, resizes and plain reads are refused with the lines qemu-img and
/// qemu-io print against the same holder, and <c>-U</c> reads as qemu-img reads; while diskimg holds one, qemu-img
/// is refused as it is by qemu-io.
/// </summary>
public class FormatLocksTests
{
    public static TheoryData<string, string> Formats => new()
    {
        { "vpc", "" },
        { "vdi", "" },
        { "vmdk", "" },
        { "vmdk", "subformat=monolithicFlat" },
        { "vmdk", "subformat=twoGbMaxExtentSparse" },
        { "vhdx", "" },
        { "qcow2", "" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Writers_and_readers_are_refused_while_qemu_io_writes(string format, string options)
    {
        using var dir = new TempDirectory();
        var (image, held) = Create(dir, format, options);
        var source = dir.File("source.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "1M");
        var before = Hashes(dir);
        using var holder = ImageHolder.QemuIo(held, format: held == image ? format : "raw");

        AssertSame("qemu-io", ["io", "-f", format, "-c", "write 0 512", image]);
        AssertSame("qemu-img", ["resize", "-f", format, image, "+1M"]);
        AssertSame("qemu-img", ["convert", "-n", "-O", format, source, image]);
        AssertSame("qemu-img", ["info", "-f", format, image]);
        var shared = AssertSame("qemu-img", ["info", "-U", "-f", format, image]);
        Assert.Equal(0, shared);

        Assert.True(holder.IsRunning);
        if (held == image)
        {
            // Refused everywhere, so nothing changed. A flat extent held as raw is data only: QEMU lets the vmdk
            // above write it (the raw holder shares writes), and so does diskimg (compared above).
            Assert.Equal(before, Hashes(dir));
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Qemu_img_is_refused_while_diskimg_writes(string format, string options)
    {
        using var dir = new TempDirectory();
        var (image, _) = Create(dir, format, options);
        string[] write = ["resize", "-f", format, image, "+1M"];
        string[] read = ["info", "-f", format, image];

        ExternalTool.Result expectedWrite, expectedRead;
        using (var qemu = ImageHolder.QemuIo(image, format: format))
        {
            expectedWrite = ExternalTool.Run("qemu-img", write);
            expectedRead = ExternalTool.Run("qemu-img", read);
        }

        using var ours = ImageHolder.Diskimg(image, format: format);
        var refusedWrite = ExternalTool.Run("qemu-img", write);
        var refusedRead = ExternalTool.Run("qemu-img", read);
        Assert.True(ours.IsRunning);
        Assert.NotEqual(0, expectedWrite.ExitCode);
        Assert.Equal(expectedWrite.ExitCode, refusedWrite.ExitCode);
        Assert.Equal(expectedWrite.StdErr, refusedWrite.StdErr);
        Assert.NotEqual(0, expectedRead.ExitCode);
        Assert.Equal(expectedRead.StdErr, refusedRead.StdErr);
    }

    /// <summary>The image, and the file the holder keeps open: the image itself, or a flat vmdk's extent (held as raw).</summary>
    private static (string Image, string Held) Create(TempDirectory dir, string format, string options)
    {
        var image = dir.File($"disk.{format}");
        string[] create = options.Length == 0 ? ["create", "-q", "-f", format, image, "1M"] : ["create", "-q", "-f", format, "-o", options, image, "1M"];
        ExternalTool.QemuImg(create);
        ExternalTool.QemuIo("-f", format, "-c", "write -P 0x5a 0 64k", image);
        var held = options.Contains("Flat", StringComparison.Ordinal) ? dir.File($"disk-flat.{format}")
            : options.Contains("twoGb", StringComparison.Ordinal) ? dir.File($"disk-s001.{format}")
            : image;
        Assert.True(File.Exists(held), held);
        return (image, held);
    }

    /// <summary>Runs the same command line through <paramref name="tool"/> and diskimg; both must print and exit alike.</summary>
    private static int AssertSame(string tool, string[] arguments)
    {
        var toolArguments = tool == "qemu-io" ? arguments[1..] : arguments;
        var theirs = ExternalTool.Run(tool, toolArguments);
        var ours = Diskimg.Run(arguments);
        var what = string.Join(' ', arguments);
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{what}: {tool} {theirs.ExitCode} ({theirs.StdErr}), diskimg {ours.ExitCode} ({ours.StdErr})");
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        return ours.ExitCode;
    }

    private static string Hashes(TempDirectory dir) => string.Join(",", Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal)
        .Select(f => Path.GetFileName(f) + "=" + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))));
}
