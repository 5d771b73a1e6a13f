using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>The security posture for images from strangers: nothing outside the image is read unless asked.</summary>
public class UntrustedImageTests
{
    [Theory]
    [InlineData("info")]
    [InlineData("map")]
    [InlineData("convert")]
    public void Untrusted_refuses_an_image_that_names_a_backing_file(string verb)
    {
        using var dir = new TempDirectory();
        var overlay = dir.File("upload.qcow2");
        // The classic attack: a backing file that exposes a host file to whoever reads the image.
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw", "-u", overlay, "1M");

        string[] args = verb == "convert"
            ? ["convert", "--untrusted", "-O", "raw", overlay, dir.File("out.raw")]
            : [verb, "--untrusted", overlay];
        var result = Diskimg.Run(args);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("backing file", result.StdErr, StringComparison.OrdinalIgnoreCase);
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(dir.File("out.raw")), "nothing may be written for a refused source");
    }

    [Fact]
    public void Untrusted_accepts_a_self_contained_image()
    {
        using var dir = new TempDirectory();
        var image = dir.File("fine.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "1M");
        Assert.Equal(0, Diskimg.Run("info", "--untrusted", image).ExitCode);
    }

    [Fact]
    public void Check_does_not_open_the_backing_file()
    {
        using var dir = new TempDirectory();
        var overlay = dir.File("overlay.qcow2");
        var backing = dir.File("base.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", backing, "1M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay, "1M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x33 0 64k", overlay);
        File.Delete(backing);
        var result = Diskimg.Run("check", overlay);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("No errors were found", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_does_not_open_the_backing_file()
    {
        using var dir = new TempDirectory();
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "missing-base.qcow2", "-F", "qcow2", "-u", overlay, "1M");
        var result = Diskimg.Run("info", "--output=json", overlay);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("missing-base.qcow2", result.StdOut, StringComparison.Ordinal);
    }
}
