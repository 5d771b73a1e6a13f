using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>Our client against qemu-nbd and nbdkit: info, map, compare and convert agree with qemu-img doing the same.</summary>
public class NbdClientTests
{
    private static string MakeImage(TempDirectory dir)
    {
        var image = dir.File("plain.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "12M");
        ExternalTool.QemuIo("-c", "write -P 0x31 0 64k", "-c", "write -z 2M 64k", "-c", "write -P 0x32 3M 1M", "-c", "write -P 0x33 11M 4k", image);
        return image;
    }

    [Fact]
    public void Qemu_nbd_export_reads_as_qemu_img_reads_it()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        using var server = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, "-t", "-r", "-f", "qcow2", "-k", dir.File("q.sock"), image);
        var uri = server.Uri();
        Assert.Equal(ExternalTool.QemuImg("info", uri), Diskimg.Ok("info", uri));
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", uri), Diskimg.Ok("map", "--output=json", uri));
        Assert.Contains("Images are identical", Diskimg.Ok("compare", uri, image), StringComparison.Ordinal);
        Diskimg.Ok("convert", "-O", "qcow2", uri, dir.File("copy.qcow2"));
        ExternalTool.QemuImg("check", dir.File("copy.qcow2"));
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", dir.File("copy.qcow2"), image), StringComparison.Ordinal);
    }

    [Fact]
    public void A_qcow2_served_raw_opens_as_qcow2_through_the_storage_layer()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        using var server = NbdProcess.Tool("qemu-nbd", dir.File("r.sock"), 0, "-t", "-r", "-f", "raw", "-k", dir.File("r.sock"), image);
        var uri = server.Uri();
        var opts = $"driver=qcow2,file.driver=nbd,file.server.type=unix,file.server.path={server.Socket}";
        Assert.Equal(ExternalTool.QemuImg("info", "--image-opts", opts), Diskimg.Ok("info", "--image-opts", opts));
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", "-f", "qcow2", uri), Diskimg.Ok("map", "--output=json", "-f", "qcow2", uri));
        Assert.Contains("Images are identical", Diskimg.Ok("compare", "-f", "qcow2", uri, image), StringComparison.Ordinal);
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "raw", uri, dir.File("copy.raw"));
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", "-F", "qcow2", dir.File("copy.raw"), image), StringComparison.Ordinal);
    }

    [Fact]
    public void Nbdkit_memory_and_file_plugins_serve_what_qemu_img_sees()
    {
        using var dir = new TempDirectory();
        var rawFile = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", rawFile, "8M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x41 1M 256k", "-c", "write -P 0x42 7M 4k", rawFile);

        using (var file = NbdProcess.Tool("nbdkit", dir.File("f.sock"), 0, "-f", "-U", dir.File("f.sock"), "file", $"file={rawFile}"))
        {
            var uri = file.Uri();
            Assert.Equal(ExternalTool.QemuImg("info", uri), Diskimg.Ok("info", uri));
            Assert.Equal(ExternalTool.QemuImg("map", "--output=json", uri), Diskimg.Ok("map", "--output=json", uri));
            Assert.Contains("Images are identical", Diskimg.Ok("compare", uri, rawFile), StringComparison.Ordinal);
        }

        using var memory = NbdProcess.Tool("nbdkit", dir.File("m.sock"), 0, "-f", "-U", dir.File("m.sock"), "memory", "8M");
        var target = memory.Uri();
        Diskimg.Ok("convert", "-n", "-O", "raw", rawFile, target);
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", "-f", "raw", "-F", "raw", target, rawFile), StringComparison.Ordinal);
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", target), Diskimg.Ok("map", "--output=json", target));
        ExternalTool.QemuImg("convert", "-O", "qcow2", target, dir.File("qemu.qcow2"));
        Diskimg.Ok("convert", "-O", "qcow2", target, dir.File("ours.qcow2"));
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", dir.File("qemu.qcow2"), dir.File("ours.qcow2")), StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_read_as_qemu_img_words()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        using var server = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, "-t", "-r", "-f", "qcow2", "-k", dir.File("q.sock"), image);
        foreach (var uri in new[] { $"nbd+unix:///missing?socket={server.Socket}", $"nbd+unix:///?socket={dir.File("absent.sock")}" })
        {
            var qemu = ExternalTool.Run("qemu-img", "info", uri);
            var ours = Diskimg.Run("info", uri);
            Assert.Equal(qemu.ExitCode, ours.ExitCode);
            // qemu-img's second line ("server reported: ...") is part of our one error line.
            Assert.Equal(qemu.StdErr.TrimEnd().Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr.TrimEnd());
        }
    }
}
