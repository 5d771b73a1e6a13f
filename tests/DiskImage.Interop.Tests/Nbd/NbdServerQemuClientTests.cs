using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary><c>diskimg nbd</c> judged by QEMU's and libnbd's clients, side by side with <c>qemu-nbd</c> serving the same image.</summary>
public class NbdServerQemuClientTests
{
    /// <summary>A qcow2 over a qcow2 backing file, with data, zero clusters and unallocated runs in both.</summary>
    private static string MakeChain(TempDirectory dir)
    {
        var baseImage = dir.File("base.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", baseImage, "16M");
        ExternalTool.QemuIo("-c", "write -P 0x11 0 64k", "-c", "write -z 1M 64k", "-c", "write -P 0x12 5M 192k", baseImage);
        ExternalTool.QemuImg("create", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", top);
        ExternalTool.QemuIo("-c", "write -P 0x22 2M 64k", "-c", "write -z 5M 64k", "-c", "write -P 0x23 9M 4k", top);
        return top;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Qemu_io_writes_and_reads_patterns_and_the_image_stays_clean(bool unix)
    {
        using var dir = new TempDirectory();
        var image = dir.File("rw.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "8M");
        var port = Loopback.FreePort();
        using (var server = unix
            ? NbdProcess.Diskimg(dir.File("s.sock"), 0, "-t", "-f", "qcow2", "-k", dir.File("s.sock"), image)
            : NbdProcess.Diskimg(null, port, "-t", "-f", "qcow2", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), image))
        {
            var written = ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0xa5 0 64k", "-c", "write -P 0x5a 1M 12k", "-c", "write -z 4M 1M",
                "-c", "aio_write -P 0x77 6M 4k", "-c", "aio_write -P 0x78 7M 4k", "-c", "aio_flush", "-c", "flush", server.Uri());
            Assert.DoesNotContain("failed", written, StringComparison.Ordinal);
            var read = ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0xa5 0 64k", "-c", "read -P 0x5a 1M 12k", "-c", "read -P 0 4M 1M",
                "-c", "read -P 0x77 6M 4k", "-c", "read -P 0x78 7M 4k", "-c", "read -P 0 64k 960k", server.Uri());
            Assert.DoesNotContain("fail", read, StringComparison.Ordinal);
            Assert.Equal(6, read.Split("read ", StringSplitOptions.None).Length - 1);
        }

        ExternalTool.QemuImg("check", "-f", "qcow2", image);
        var direct = ExternalTool.QemuIo("-f", "qcow2", "-r", "-c", "read -P 0xa5 0 64k", "-c", "read -P 0x78 7M 4k", image);
        Assert.DoesNotContain("fail", direct, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Qemu_img_map_matches_qemu_nbd(bool allocationDepth)
    {
        using var dir = new TempDirectory();
        var top = MakeChain(dir);
        var flags = allocationDepth ? new[] { "-A" } : [];
        string Map(NbdProcess server) => allocationDepth
            ? ExternalTool.QemuImg("map", "--output=json", "--image-opts", $"driver=nbd,server.type=unix,server.path={server.Socket},x-dirty-bitmap=qemu:allocation-depth")
            : ExternalTool.QemuImg("map", "--output=json", server.Uri());

        string expected;
        using (var qemu = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, [.. flags, "-t", "-r", "-f", "qcow2", "-k", dir.File("q.sock"), top]))
        {
            expected = Map(qemu);
        }

        using var ours = NbdProcess.Diskimg(dir.File("d.sock"), 0, [.. flags, "-t", "-r", "-f", "qcow2", "-k", dir.File("d.sock"), top]);
        Assert.Equal(expected, Map(ours));
        Assert.Contains("\"data\": false", expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Qemu_img_convert_from_the_export_is_bit_identical()
    {
        using var dir = new TempDirectory();
        var top = MakeChain(dir);
        using var server = NbdProcess.Diskimg(dir.File("d.sock"), 0, "-t", "-r", "-f", "qcow2", "-k", dir.File("d.sock"), top);
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "raw", server.Uri(), dir.File("from-export.raw"));
        ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "raw", top, dir.File("direct.raw"));
        Assert.True(File.ReadAllBytes(dir.File("from-export.raw")).AsSpan().SequenceEqual(File.ReadAllBytes(dir.File("direct.raw"))));
    }

    [Fact]
    public void Nbdinfo_list_and_map_and_nbdcopy_agree_with_qemu_nbd()
    {
        using var dir = new TempDirectory();
        var top = MakeChain(dir);
        string[] serverArgs = ["-t", "-r", "-A", "-x", "disk", "-D", "a test disk", "-f", "qcow2"];
        (string List, string Map, string Depth, byte[] Copy) Observe(NbdProcess server, string name)
        {
            var list = ExternalTool.Run("nbdinfo", "--list", server.Uri()).EnsureSuccess("nbdinfo --list").StdOut.Replace(server.Socket!, "SOCKET", StringComparison.Ordinal);
            var map = ExternalTool.Run("nbdinfo", "--map", server.Uri("disk")).EnsureSuccess("nbdinfo --map").StdOut;
            var depth = ExternalTool.Run("nbdinfo", "--map=qemu:allocation-depth", server.Uri("disk")).EnsureSuccess("nbdinfo --map").StdOut;
            var copy = dir.File(name);
            ExternalTool.Run("nbdcopy", server.Uri("disk"), copy).EnsureSuccess("nbdcopy");
            return (list, map, depth, File.ReadAllBytes(copy));
        }

        (string List, string Map, string Depth, byte[] Copy) expected;
        using (var qemu = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, [.. serverArgs, "-k", dir.File("q.sock"), top]))
        {
            expected = Observe(qemu, "q.raw");
        }

        using var ours = NbdProcess.Diskimg(dir.File("d.sock"), 0, [.. serverArgs, "-k", dir.File("d.sock"), top]);
        var actual = Observe(ours, "d.raw");
        Assert.Equal(expected.List, actual.List);
        Assert.Equal(expected.Map, actual.Map);
        Assert.Equal(expected.Depth, actual.Depth);
        Assert.True(expected.Copy.AsSpan().SequenceEqual(actual.Copy));
        Assert.Contains("a test disk", actual.List, StringComparison.Ordinal);
    }

    [Fact]
    public void Nbdcopy_onto_the_export_leaves_a_clean_qcow2_with_the_data()
    {
        using var dir = new TempDirectory();
        var source = MakeChain(dir);
        ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "raw", source, dir.File("src.raw"));
        var target = dir.File("target.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", target, "16M");
        using (var server = NbdProcess.Diskimg(dir.File("d.sock"), 0, "-t", "-e", "4", "-f", "qcow2", "-k", dir.File("d.sock"), target))
        {
            ExternalTool.Run("nbdcopy", "--connections=4", dir.File("src.raw"), server.Uri()).EnsureSuccess("nbdcopy");
            Assert.Equal(0, server.Stop());
        }

        ExternalTool.QemuImg("check", "-f", "qcow2", target);
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", "-f", "raw", "-F", "qcow2", dir.File("src.raw"), target), StringComparison.Ordinal);
    }
}
