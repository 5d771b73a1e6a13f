using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// The NBD client's <c>x-dirty-bitmap</c> option, which selects the meta context block status reads: a context the
/// server does not offer fails the open as qemu-img's does. qemu-img and diskimg map the same qemu-nbd export with the
/// same options.
/// </summary>
public class NbdDirtyBitmapClientTests
{
    [Theory]
    [InlineData("")]
    [InlineData(",x-dirty-bitmap=qemu:dirty-bitmap:missing")]
    public void Map_over_nbd_with_a_chosen_meta_context_matches_qemu_img(string extra)
    {
        using var dir = new TempDirectory();
        var baseImage = dir.File("base.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", baseImage, "4M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write 0 2M", baseImage);
        ExternalTool.QemuImg("create", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", top, "4M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write 1M 2M", top);
        var socket = dir.File("q.sock");
        using var server = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-r", "-A", "-f", "qcow2", "-k", socket, top);
        var options = $"driver=nbd,server.type=unix,server.path={socket}{extra}";

        var theirs = ExternalTool.Run("qemu-img", "map", "--output=json", "--image-opts", options);
        var ours = Diskimg.Run(["map", "--output=json", "--image-opts", options]);

        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, top), QemuToolOutput.Normalise(ours.StdErr, top));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
