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
    /// <summary>
    /// A context other than base:allocation has its bits read as base:allocation's: qemu:allocation-depth's 1 (local)
    /// is a hole without the zero flag (not present, not zero) and its 2 (backing) the zero flag alone (data that reads
    /// as zero); a dirty bitmap's dirty bit is such a hole. Served by qemu-nbd and by diskimg.
    /// </summary>
    [Theory]
    [InlineData("qemu-nbd", "qemu:allocation-depth")]
    [InlineData("diskimg", "qemu:allocation-depth")]
    [InlineData("qemu-nbd", "qemu:dirty-bitmap:b0")]
    [InlineData("diskimg", "qemu:dirty-bitmap:b0")]
    [InlineData("qemu-nbd", "base:allocation")]
    public void Map_through_another_meta_context_maps_its_bits_as_qemu_img_does(string serverTool, string context)
    {
        using var dir = new TempDirectory();
        var baseImage = dir.File("base.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", baseImage, "4M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write 0 2M", baseImage);
        ExternalTool.QemuImg("create", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", top, "4M");
        ExternalTool.QemuImg("bitmap", "--add", top, "b0");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write 1M 1M", "-c", "write -z 3M 512k", top);
        var socket = dir.File("q.sock");
        string[] arguments = ["-t", "-r", "-A", "-B", "b0", "-f", "qcow2", "-k", socket, top];
        using var server = serverTool == "diskimg" ? NbdProcess.Diskimg(socket, 0, arguments) : NbdProcess.Tool(serverTool, socket, 0, arguments);
        var options = $"driver=nbd,server.type=unix,server.path={socket},x-dirty-bitmap={context}";

        foreach (var verb in new[] { "--output=json", "--output=human" })
        {
            var theirs = ExternalTool.Run("qemu-img", "map", verb, "--image-opts", options);
            var ours = Diskimg.Run(["map", verb, "--image-opts", options]);

            Assert.Equal(theirs.StdOut, ours.StdOut);
            Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, top), QemuToolOutput.Normalise(ours.StdErr, top));
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
        }
    }
}
