using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// A new qcow2 image written straight into an NBD export (an existing raw container served at an offset, such as a
/// member of an OVA tar): <c>convert</c> and <c>create</c> on the same command lines as qemu-img, each into its own
/// container, and the two results judged by qemu-img over NBD (info, check, map, compare with the source).
/// </summary>
public class NbdImageTargetTests
{
    private const long ContainerOffset = 1536;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Convert_into_an_export_writes_the_image_qemu_img_writes(bool compress)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", source, "1G");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x5a 1M 64k", "-c", "write -P 0x5b 700M 4k", source);
        var required = long.Parse(Measure(source), System.Globalization.CultureInfo.InvariantCulture);
        string[] extra = compress ? ["-c"] : [];

        var qemu = Judge(dir, "qemu", required, uri => ExternalTool.Run("qemu-img", ["convert", "-f", "qcow2", "-O", "qcow2", .. extra, source, uri]), source);
        var ours = Judge(dir, "ours", required, uri => Diskimg.Run(["convert", "-f", "qcow2", "-O", "qcow2", .. extra, source, uri]), source);
        Assert.Equal(qemu, ours);
        Assert.Contains("Images are identical.", ours, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_on_an_export_formats_it_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var qemu = Judge(dir, "qemu", 1 << 20, uri => ExternalTool.Run("qemu-img", "create", "-f", "qcow2", uri, "64M"), source: null);
        var ours = Judge(dir, "ours", 1 << 20, uri => Diskimg.Run("create", "-f", "qcow2", uri, "64M"), source: null);
        Assert.Equal(qemu, ours);
        Assert.Contains("No errors were found on the image.", ours, StringComparison.Ordinal);
    }

    private static string Measure(string source) =>
        ExternalTool.QemuImg("measure", "-O", "qcow2", source).Split('\n')[0].Split(':')[1].Trim();

    /// <summary>
    /// Runs <paramref name="write"/> on an export of a fresh container (filled with stale bytes, so that whatever the
    /// tool leaves unwritten shows), then returns what qemu-img says of the result, with the export's name replaced.
    /// </summary>
    private static string Judge(TempDirectory dir, string side, long required, Func<string, ExternalTool.Result> write, string? source)
    {
        var container = dir.File($"{side}.ova");
        var stale = new byte[ContainerOffset + required];
        Array.Fill(stale, (byte)0xa5);
        File.WriteAllBytes(container, stale);
        var socket = dir.File($"{side}.sock");
        using var server = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-k", socket, "-x", "exp", "-f", "raw",
            "--offset", ContainerOffset.ToString(System.Globalization.CultureInfo.InvariantCulture), container);
        var uri = server.Uri("exp");

        var result = write(uri);
        var report = $"exit {result.ExitCode}\n{result.StdOut}{result.StdErr}\n"
            + ExternalTool.Run("qemu-img", "info", "-f", "qcow2", uri).StdOut
            + ExternalTool.Run("qemu-img", "check", "-f", "qcow2", uri).StdOut
            + ExternalTool.Run("qemu-img", "map", "-f", "qcow2", "--output=json", uri).StdOut;
        if (source is not null)
        {
            report += ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", source, uri).StdOut;
        }

        return report.Replace(uri, "URI", StringComparison.Ordinal);
    }
}
