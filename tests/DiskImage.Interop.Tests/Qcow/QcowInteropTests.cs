using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Migration;

namespace DiskImage.Interop.Tests.Qcow;

/// <summary>qcow version 1, judged by qemu-img and qemu-io: create, info, map, read, write, convert, compression.</summary>
public class QcowInteropTests
{
    [Theory]
    [InlineData("10M", "")]
    [InlineData("1000", "")]
    [InlineData("3G", "")]
    [InlineData("5M", "backing")]
    [InlineData("2M", "encrypt.format=aes,encrypt.key-secret=sec0")]
    [InlineData("2M", "encryption=on,encrypt.key-secret=sec0")]
    public void Create_writes_qemu_img_s_file_and_line(string size, string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow");
        var theirs = dir.File("theirs.qcow");
        var b = dir.File("base.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", b, "5M");
        string[] o = options switch
        {
            "" => [],
            "backing" => ["-b", b, "-F", "qcow"],
            _ => ["--object", "secret,id=sec0,data=abc", "-o", options],
        };
        var expected = ExternalTool.QemuImg(["create", "-f", "qcow", .. o, theirs, size]);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), Diskimg.Ok(["create", "-f", "qcow", .. o, ours, size]));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Theory]
    [InlineData("encrypt.format=aes")]
    [InlineData("encrypt.format=luks,encrypt.key-secret=sec0")]
    [InlineData("encrypt.format=foo")]
    [InlineData("encrypt.key-secret=sec0")]
    [InlineData("encrypt.format=aes,encrypt.key-secret=nosuch")]
    [InlineData("backing_fmt=foo")]
    [InlineData("cluster_size=512")]
    public void Create_refuses_as_qemu_img(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.qcow");
        var theirs = ExternalTool.Run("qemu-img", "create", "-f", "qcow", "--object", "secret,id=sec0,data=abc", "-o", options, path, "1M");
        File.Delete(path);
        var ours = Diskimg.Run("create", "-f", "qcow", "--object", "secret,id=sec0,data=abc", "-o", options, path, "1M");
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }

    [Fact]
    public void Option_help_is_qemu_img_s()
    {
        Assert.Equal(ExternalTool.QemuImg("create", "-f", "qcow", "-o", "help"), Diskimg.Ok("create", "-f", "qcow", "-o", "help"));
    }

    /// <summary>Images qemu-img creates and qemu-io writes, with several cluster and table sizes.</summary>
    [Theory]
    [InlineData(12, 9, false)]
    [InlineData(9, 12, false)]
    [InlineData(16, 13, false)]
    [InlineData(9, 6, false)]
    [InlineData(13, 8, true)]
    public void Images_qemu_io_writes_read_as_in_qemu_img(int clusterBits, int l2Bits, bool compressed)
    {
        using var dir = new TempDirectory();
        var path = dir.File("src.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", path, "37M");
        // qemu-img creates only two geometries; the others are set in the header before anything is written.
        var l1Entries = ((37L << 20) + (1L << (clusterBits + l2Bits)) - 1) >> (clusterBits + l2Bits);
        MigrationInterop.Patch(path, 32, (byte)clusterBits, (byte)l2Bits);
        using (var file = File.OpenWrite(path))
        {
            file.SetLength(48 + (((l1Entries * 8) + 511) & ~511L));
        }

        ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 0x11 0 100k", "-c", "write -P 0x22 5M 3k", "-c", "write -P 0x33 36M 1M",
            "-c", "write -P 0x44 20M 512", path);
        if (compressed)
        {
            ExternalTool.QemuIo("-f", "qcow", "-c", $"write -c -P 0x55 {16L << 20} {1 << clusterBits}", path);
        }

        MigrationInterop.AssertReadsAsQemu(dir, path, "qcow");
    }

    [Fact]
    public void Images_qemu_img_compresses_read_as_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var path = dir.File("c.qcow");
        // qemu-img 7.2's convert -c -O qcow fails (exit 1, no message); qemu-io writes compressed clusters one by one.
        // (Into unallocated clusters only: QEMU would write over a plain cluster's data without marking it compressed.)
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", path, "9M");
        ExternalTool.QemuIo(["-f", "qcow", .. Enumerable.Range(0, 64).Select(i => $"write -c -P 0x{i + 1:x2} {i * 12288} 4k").SelectMany(c => new[] { "-c", c }), path]);
        ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 0x62 4M 300k", "-c", "write -c -P 0x63 9212k 4k", path);
        MigrationInterop.AssertReadsAsQemu(dir, path, "qcow");
    }

    [Fact]
    public void Overlays_read_through_their_backing_file_as_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var b = dir.File("base.qcow");
        var top = dir.File("top.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", b, "12M");
        ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 0x71 0 4M", "-c", "write -P 0x72 9M 1M", b);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", "-b", "base.qcow", "-F", "qcow", top);
        ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 0x73 1M 1536", "-c", "write -P 0x74 10M 4k", top);
        MigrationInterop.AssertReadsAsQemu(dir, top, "qcow");
        Assert.Equal(ExternalTool.QemuImg("info", top), Diskimg.Ok("info", top));
    }

    [Fact]
    public void Images_we_write_read_back_in_qemu()
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.qcow2");
        MigrationInterop.QemuImage(source, "qcow2", [], "37M");
        var ours = dir.File("ours.qcow");
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "qcow", source, ours);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "qcow");

        Diskimg.Ok("io", "-f", "qcow", "-c", "write -P 0x44 10M 1536k", "-c", "write -P 0x55 100k 700", "-c", "write -z 3M 64k", ours);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x44 10M 1536k", "-c", "write -P 0x55 100k 700", "-c", "write -z 3M 64k", source);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "qcow");
        MigrationInterop.AssertReadsAsQemu(dir, ours, "qcow");

        // And back: qcow to qcow2 with us, compared with qemu-img's view of the qcow image.
        var back = dir.File("back.qcow2");
        Diskimg.Ok("convert", "-f", "qcow", "-O", "qcow2", ours, back);
        MigrationInterop.AssertSameContent(ours, "qcow", back, "qcow2");
        Assert.StartsWith("No errors were found on the image.\n", ExternalTool.QemuImg("check", back), StringComparison.Ordinal);
    }

    [Fact]
    public void Compressed_images_we_write_read_back_in_qemu()
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.qcow2");
        MigrationInterop.QemuImage(source, "qcow2", [], "37M");
        var ours = dir.File("c.qcow");
        Diskimg.Ok("convert", "-c", "-f", "qcow2", "-O", "qcow", source, ours);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "qcow");
        Assert.Contains("\"data\": true}", ExternalTool.QemuImg("map", "--output=json", ours), StringComparison.Ordinal);

        // A partial write into a compressed cluster keeps the rest of it.
        Diskimg.Ok("io", "-f", "qcow", "-c", "write -P 0x66 4196 100", ours);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x66 4196 100", source);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "qcow");
    }

    [Fact]
    public void Overlays_we_write_keep_the_backing_data_around_the_write()
    {
        using var dir = new TempDirectory();
        var b = dir.File("base.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", b, "4M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x31 0 4M", b);
        var top = dir.File("top.qcow");
        Diskimg.Ok("create", "-q", "-f", "qcow", "-b", "base.raw", "-F", "raw", top);
        Diskimg.Ok("io", "-f", "qcow", "-c", "write -P 0x32 1000 100", "-c", "write -P 0x33 2M 64k", top);
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x32 1000 100", "-c", "write -P 0x33 2M 64k", b);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "qcow", "-F", "raw", top, b).ExitCode);
    }

    [Fact]
    public void Aes_encrypted_images_read_and_write_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("e.qcow");
        string[] secret = ["--object", "secret,id=sec0,data=passw0rd"];
        ExternalTool.QemuImg(["create", .. secret, "-q", "-f", "qcow", "-o", "encrypt.format=aes,encrypt.key-secret=sec0", path, "6M"]);
        var opts = $"driver=qcow,file.filename={path},encrypt.key-secret=sec0";
        ExternalTool.QemuIo([.. secret, "--image-opts", "-c", "write -P 0x81 0 1M", "-c", "write -P 0x82 3M 1000", opts]);
        Diskimg.Ok(["io", .. secret, "--image-opts", "-c", "write -P 0x83 5M 4k", "-c", "write -P 0x84 100 50", opts]);
        ExternalTool.QemuIo([.. secret, "--image-opts", "-c", "read -P 0x81 0 100", "-c", "read -P 0x84 100 50", "-c", "read -P 0x81 150 100k",
            "-c", "read -P 0x82 3M 1000", "-c", "read -P 0x83 5M 4k", opts]);
        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");
        ExternalTool.QemuImg(["convert", .. secret, "--image-opts", opts, "-O", "raw", theirs]);
        Diskimg.Ok(["convert", .. secret, "--image-opts", opts, "-O", "raw", ours]);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", path), Diskimg.Ok("info", "--output=json", path));
    }

    [Theory]
    [InlineData("check")]
    [InlineData("resize")]
    public void Check_and_resize_are_refused_as_by_qemu_img(string verb)
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", path, "1M");
        string[] args = verb == "resize" ? ["resize", path, "2M"] : ["check", path];
        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }

    [Theory]
    [InlineData(4, new byte[] { 0, 0, 0, 2 })]
    [InlineData(4, new byte[] { 0, 0, 0, 7 })]
    [InlineData(24, new byte[] { 0, 0, 0, 0, 0, 0, 0, 1 })]
    [InlineData(24, new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff })]
    [InlineData(32, new byte[] { 8 })]
    [InlineData(32, new byte[] { 17 })]
    [InlineData(33, new byte[] { 5 })]
    [InlineData(33, new byte[] { 14 })]
    [InlineData(36, new byte[] { 0, 0, 0, 2 })]
    [InlineData(8, new byte[] { 0, 0, 0, 0, 0, 0, 0, 48, 0, 0, 4, 0 })]
    [InlineData(40, new byte[] { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf8 })]
    public void Hostile_headers_are_refused_in_qemu_img_s_words(int offset, byte[] bytes)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", path, "1M");
        MigrationInterop.Patch(path, offset, bytes);
        // Compared whole: a qcow2 version gets QEMU's hint line after the error.
        var theirs = ExternalTool.Run("qemu-img", "info", "-f", "qcow", path);
        var ours = Diskimg.Run("info", "-f", "qcow", path);
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }
}
