using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>Shared steps of the VHD, VHDX and VDI interop tests: QEMU-written images and the verdicts compared.</summary>
internal static class MigrationInterop
{
    /// <summary>qemu-io writes: a small run at 0, a run crossing block boundaries, a run near the end; holes between.</summary>
    public static readonly string[] Patterns = ["write -P 0x11 0 64k", "write -P 0x22 3M 5M", "write -P 0x33 36M 512k"];

    /// <summary>Creates <paramref name="path"/> with qemu-img (<paramref name="createArgs"/> after <c>-f</c>) and fills it with qemu-io.</summary>
    public static void QemuImage(string path, string format, string[] options, string size)
    {
        ExternalTool.QemuImg(["create", "-q", "-f", format, .. options, path, size]);
        foreach (var pattern in Patterns)
        {
            ExternalTool.QemuIo("-f", format, "-c", pattern, path);
        }
    }

    /// <summary>Our raw conversion must be byte for byte qemu-img's; info and map must print the same.</summary>
    public static void AssertReadsAsQemu(TempDirectory dir, string path, string format)
    {
        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");
        ExternalTool.QemuImg("convert", "-f", format, "-O", "raw", path, theirs);
        Diskimg.Ok("convert", "-f", format, "-O", "raw", path, ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", "-f", format, path), Diskimg.Ok("info", "--output=json", "-f", format, path));
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", "-f", format, path), Diskimg.Ok("map", "--output=json", "-f", format, path));

        // The human form fails where the format gives no host offsets (vhdx); then the failure must be the same.
        var theirMap = ExternalTool.Run("qemu-img", "map", "-f", format, path);
        var ourMap = Diskimg.Run("map", "-f", format, path);
        Assert.Equal(theirMap.ExitCode, ourMap.ExitCode);
        Assert.Equal(theirMap.StdOut, ourMap.StdOut);
        Assert.Equal(theirMap.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ourMap.StdErr);
    }

    /// <summary>An image we wrote must hold what its source holds, by qemu-img compare.</summary>
    public static void AssertSameContent(string source, string sourceFormat, string written, string writtenFormat) =>
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", sourceFormat, "-F", writtenFormat, source, written).ExitCode);

    /// <summary>The same open failure from both tools: one line, same words, same exit code.</summary>
    public static void AssertSameOpenFailure(string path, string? format = null, string verb = "info")
    {
        string[] args = format is null ? [verb, path] : [verb, "-f", format, path];
        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Trim().Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr.Trim());
        Assert.Single(ours.StdErr.Trim().Split('\n'));
    }

    /// <summary>Overwrites bytes of a file in place (crafting hostile headers).</summary>
    public static void Patch(string path, long offset, params byte[] bytes)
    {
        using var file = File.OpenWrite(path);
        file.Position = offset;
        file.Write(bytes);
    }

    /// <summary>
    /// Inverts one byte in place. Damage must always change the byte: VHDX sequence numbers start at a random value,
    /// so writing a fixed byte leaves the header intact once in 256 images.
    /// </summary>
    public static void Invert(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)~value);
    }
}
