using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// The nbd driver's legacy flat address options (<c>host</c>/<c>port</c>, <c>path</c>) and their conflicts with
/// <c>server.*</c>: qemu-img and diskimg open the same qemu-nbd export with the same options, and print the same.
/// </summary>
public class NbdLegacyAddressTests
{
    [Theory]
    [InlineData("driver=nbd,host=127.0.0.1,port=PORT")]
    [InlineData("driver=nbd,path=SOCK")]
    [InlineData("driver=nbd,host=127.0.0.1,server.type=inet,server.host=127.0.0.1,server.port=PORT")]
    [InlineData("driver=nbd,path=SOCK,host=127.0.0.1")]
    [InlineData("driver=nbd,path=SOCK,port=PORT")]
    [InlineData("driver=nbd,port=PORT")]
    [InlineData("driver=nbd")]
    [InlineData("driver=raw,file.driver=nbd,file.host=127.0.0.1,file.port=PORT")]
    [InlineData("driver=raw,file.driver=nbd,file.path=SOCK")]
    public void Info_with_legacy_address_options_matches_qemu_img(string template)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "3M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x42 0 64k", image);
        var socket = dir.File("q.sock");
        var port = Loopback.FreePort().ToString(CultureInfo.InvariantCulture);
        using var tcp = NbdProcess.Tool("qemu-nbd", null, int.Parse(port, CultureInfo.InvariantCulture), "-t", "-r", "-f", "qcow2", "-p", port, image);
        using var unix = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-r", "-f", "qcow2", "-k", socket, image);
        var options = template.Replace("PORT", port, StringComparison.Ordinal).Replace("SOCK", socket, StringComparison.Ordinal);

        var theirs = ExternalTool.Run("qemu-img", "info", "--image-opts", options);
        var ours = Diskimg.Run("info", "--image-opts", options);

        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    [Fact]
    public void Qemu_io_reads_and_writes_through_legacy_options_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "2M");
        var port = Loopback.FreePort().ToString(CultureInfo.InvariantCulture);
        using var server = NbdProcess.Tool("qemu-nbd", null, int.Parse(port, CultureInfo.InvariantCulture), "-t", "-f", "raw", "-p", port, image);
        var options = $"driver=nbd,host=127.0.0.1,port={port}";
        string[] commands = ["-c", "write -P 0x11 1M 64k", "-c", "read -P 0x11 1M 64k", "-c", "read -P 0 0 64k"];

        var theirs = ExternalTool.Run("qemu-io", ["--image-opts", options, .. commands]);
        var ours = Diskimg.Run(["io", "--image-opts", options, .. commands]);

        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(0, ours.ExitCode);
    }

    [Fact]
    public void A_json_name_with_legacy_options_matches_qemu_img()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        var socket = dir.File("q.sock");
        using var server = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-r", "-f", "raw", "-k", socket, image);
        foreach (var json in new[]
        {
            $"json:{{\"driver\":\"nbd\",\"path\":\"{socket}\"}}",
            $"json:{{\"driver\":\"nbd\",\"path\":\"{socket}\",\"server\":{{\"type\":\"unix\",\"path\":\"{socket}\"}}}}",
        })
        {
            var theirs = ExternalTool.Run("qemu-img", "info", json);
            var ours = Diskimg.Run("info", json);
            Assert.Equal(theirs.StdOut, ours.StdOut);
            Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
        }
    }
}
