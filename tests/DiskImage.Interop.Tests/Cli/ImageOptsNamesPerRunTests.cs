using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// An error names an <c>--image-opts</c> list as it was typed, but only in the command line that typed it: a later
/// command line run in the same process that names the same file plainly gets the plain name, as qemu-img prints it.
/// </summary>
public class ImageOptsNamesPerRunTests
{
    [Fact]
    public void A_plain_name_is_not_replaced_by_an_option_list_an_earlier_run_typed()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");

        Diskimg.Ok("info", "--image-opts", $"driver=raw,file.driver=file,file.filename={image}");
        var theirs = ExternalTool.Run("qemu-img", "info", "-f", "qcow2", image);
        var ours = Diskimg.Run("info", "-f", "qcow2", image);

        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Contains($"'{image}'", theirs.StdErr, StringComparison.Ordinal);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
    }
}
