using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// The standalone <c>luks</c> format against qemu-img/qemu-io 7.2: images made by one tool are read and written by
/// the other, and the same command lines give the same output, errors and exit codes. Key slots use iter-time=10.
/// </summary>
public class LuksFormatInteropTests
{
    private static readonly string[] s_secrets = ["--object", "secret,id=sec0,data=123456", "--object", "secret,id=sec1,data=abc"];

    private static string Opts(string path, string secret = "sec0") => $"driver=luks,key-secret={secret},file.filename={path}";

    private static string QemuMade(TempDirectory dir, string name = "q.luks", string options = "")
    {
        var path = dir.File(name);
        ExternalTool.QemuImg(["create", "-q", "-f", "luks", .. s_secrets, "-o", $"{options}key-secret=sec0,iter-time=10", path, "1M"]);
        return path;
    }

    /// <summary>Runs the same arguments with qemu-img (or qemu-io) and diskimg (or diskimg io) and compares everything they print.</summary>
    private static void SameAsQemu(string tool, string[] arguments, string? image = null, Func<string, string>? filter = null)
    {
        var theirs = ExternalTool.Run(tool, arguments);
        var ours = tool == "qemu-io" ? Diskimg.Run(["io", .. arguments]) : Diskimg.Run(arguments);
        filter ??= s => s;
        Assert.Equal(filter(QemuToolOutput.Normalise(theirs.StdErr, image)), filter(QemuToolOutput.Normalise(ours.StdErr, image)));
        Assert.Equal(filter(QemuToolOutput.Normalise(theirs.StdOut, image)), filter(QemuToolOutput.Normalise(ours.StdOut, image)));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha1,")]
    [InlineData("cipher-alg=aes-192,cipher-mode=xts,ivgen-alg=plain,hash-alg=sha512,")]
    public void Images_we_create_are_read_by_qemu_and_described_as_qemu_describes_them(string cipherOptions)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.luks");
        var theirs = dir.File("theirs.luks");
        string[] Create(string path) => ["create", "-f", "luks", .. s_secrets, "-o", $"{cipherOptions}key-secret=sec0,iter-time=10", path, "1M"];
        var created = Diskimg.Ok(Create(ours));
        Assert.Equal(ExternalTool.QemuImg(Create(theirs)).Replace(theirs, ours, StringComparison.Ordinal), created);
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);

        // The same file described by both tools, in every way of naming it.
        SameAsQemu("qemu-img", ["info", ours]);
        SameAsQemu("qemu-img", ["info", "--output=json", ours]);
        SameAsQemu("qemu-img", ["info", .. s_secrets, "--image-opts", Opts(ours)]);
        SameAsQemu("qemu-img", ["info", .. s_secrets, $"json:{{\"driver\":\"luks\",\"key-secret\":\"sec0\",\"file\":{{\"driver\":\"file\",\"filename\":\"{ours}\"}}}}"]);
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", Opts(ours), "-c", "info"]);

        Diskimg.Ok(["io", .. s_secrets, "--image-opts", Opts(ours), "-c", "write -P 0x5a 0 64k", "-c", "write -P 0x11 1000 100", "-c", "write -z 512k 64k"]);
        var read = ExternalTool.QemuIo([.. s_secrets, "--image-opts", Opts(ours), "-c", "read -P 0x5a 0 1000", "-c", "read -P 0x11 1000 100", "-c", "read -P 0x5a 1100 64436", "-c", "read -P 0 512k 64k"]);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "--image-opts", Opts(ours), Opts(ours)]).ExitCode);
    }

    [Fact]
    public void Images_qemu_creates_are_read_and_written_by_us()
    {
        using var dir = new TempDirectory();
        var path = QemuMade(dir);
        ExternalTool.QemuIo([.. s_secrets, "--image-opts", Opts(path), "-c", "write -P 0x5a 0 64k", "-c", "write -P 0x77 1020k 4k"]);
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", Opts(path), "-c", "read -P 0x5a 0 64k", "-c", "read -P 0x77 1020k 4k", "-c", "length"], path);

        Diskimg.Ok(["io", .. s_secrets, "--image-opts", Opts(path), "-c", "write -P 0x33 100 3000"]);
        var read = ExternalTool.QemuIo([.. s_secrets, "--image-opts", Opts(path), "-c", "read -P 0x5a 0 100", "-c", "read -P 0x33 100 3000", "-c", "read -P 0x5a 3100 62436"]);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
    }

    [Fact]
    public void Convert_to_and_from_luks_keeps_every_byte()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        var data = new byte[1 << 20];
        new Random(7).NextBytes(data.AsSpan(0, 256 << 10));
        data.AsSpan(512 << 10, 64 << 10).Fill(0x42);
        File.WriteAllBytes(raw, data);

        // raw -> luks by us (the zero half must read as zeros, not as decrypted garbage), checked by qemu-img.
        var ours = dir.File("ours.luks");
        Diskimg.Ok(["convert", .. s_secrets, "-f", "raw", raw, "-O", "luks", "-o", "key-secret=sec1,iter-time=10", ours]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "-f", "raw", raw, "-F", "luks", $"json:{{\"driver\":\"luks\",\"key-secret\":\"sec1\",\"file\":{{\"driver\":\"file\",\"filename\":\"{ours}\"}}}}"]).ExitCode);

        // luks made by qemu -> raw and qcow2 by us, from --image-opts and json: sources, and into an existing luks target.
        var theirs = dir.File("theirs.luks");
        ExternalTool.QemuImg(["convert", .. s_secrets, "-f", "raw", raw, "-O", "luks", "-o", "key-secret=sec0,iter-time=10", theirs]);
        var back = dir.File("back.raw");
        Diskimg.Ok(["convert", .. s_secrets, "--image-opts", Opts(theirs), "-O", "raw", back]);
        Assert.Equal(data, File.ReadAllBytes(back));
        var qcow2 = dir.File("back.qcow2");
        Diskimg.Ok(["convert", .. s_secrets, $"json:{{\"driver\":\"luks\",\"key-secret\":\"sec0\",\"file\":{{\"driver\":\"file\",\"filename\":\"{theirs}\"}}}}", "-O", "qcow2", qcow2]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", "-f", "raw", raw, "-F", "qcow2", qcow2]).ExitCode);
        var target = QemuMade(dir, "target.luks");
        Diskimg.Ok(["convert", .. s_secrets, "-n", "-f", "raw", raw, "--target-image-opts", Opts(target)]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "--image-opts", $"driver=raw,file.filename={raw}", Opts(target)]).ExitCode);
        SameAsQemu("qemu-img", ["compare", .. s_secrets, "--image-opts", Opts(theirs), Opts(target)]);
    }

    [Fact]
    public void Resize_measure_amend_and_check_match_qemu()
    {
        using var dir = new TempDirectory();
        var ours = QemuMade(dir, "ours.luks");
        var theirs = QemuMade(dir, "theirs.luks");
        foreach (var size in new[] { "2M", "+3000", "512K" })
        {
            string[] Resize(string path) => ["resize", .. s_secrets, "--image-opts", Opts(path), size];
            var q = ExternalTool.Run("qemu-img", Resize(theirs));
            var d = Diskimg.Run(Resize(ours));
            Assert.Equal(QemuToolOutput.Normalise(q.StdErr), QemuToolOutput.Normalise(d.StdErr));
            Assert.Equal((q.ExitCode, q.StdOut), (d.ExitCode, d.StdOut));
            Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        }

        Diskimg.Ok(["resize", "--shrink", .. s_secrets, "--image-opts", Opts(ours), "512K"]);
        ExternalTool.QemuImg(["resize", "--shrink", .. s_secrets, "--image-opts", Opts(theirs), "512K"]);
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);

        SameAsQemu("qemu-img", ["measure", "-O", "luks", .. s_secrets, "-o", "key-secret=sec0", "--size", "1G"]);
        SameAsQemu("qemu-img", ["measure", "-O", "luks", .. s_secrets, "-o", "key-secret=sec0,cipher-alg=aes-128", "--size", "1G", "--output=json"]);
        SameAsQemu("qemu-img", ["measure", "-O", "luks", "--size", "1G"]);
        SameAsQemu("qemu-img", ["measure", "-O", "luks", .. s_secrets, "-o", "key-secret=sec0", "-f", "luks", ours]);
        SameAsQemu("qemu-img", ["check", .. s_secrets, "--image-opts", Opts(ours)], ours);
        SameAsQemu("qemu-img", ["check", ours], ours);

        // A key added by us opens under qemu-io; erasing the first leaves only the new one.
        Diskimg.Ok(["amend", .. s_secrets, "--image-opts", Opts(ours), "-o", "state=active,new-secret=sec1,iter-time=10"]);
        Diskimg.Ok(["amend", .. s_secrets, "--image-opts", Opts(ours, "sec1"), "-o", "state=inactive,keyslot=0"]);
        Assert.Equal(0, ExternalTool.Run("qemu-io", [.. s_secrets, "--image-opts", Opts(ours, "sec1"), "-c", "read 0 512"]).ExitCode);
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", Opts(ours), "-c", "read 0 512"], ours);
        foreach (var amend in new[] { "state=inactive,old-secret=sec1", "state=inactive,keyslot=3", "state=active,new-secret=sec0,keyslot=9", "state=active,new-secret=sec0,keyslot=1,iter-time=10" })
        {
            SameAsQemu("qemu-img", ["amend", .. s_secrets, "--image-opts", Opts(ours, "sec1"), "-o", amend], ours);
        }

        SameAsQemu("qemu-img", ["amend", "-f", "luks", "-o", "help"]);
        SameAsQemu("qemu-img", ["info", ours], ours, s => string.Join('\n', s.Split('\n').Where(l => !l.Contains("disk size", StringComparison.Ordinal))));
    }

    public static TheoryData<string> CreateErrors => new()
    {
        "", "key-secret=sec9", "key-secret=sec0,bogus=1", "key-secret=sec0,cipher-alg=foo", "key-secret=sec0,cipher-mode=foo",
        "key-secret=sec0,ivgen-alg=foo", "key-secret=sec0,hash-alg=foo", "key-secret=sec0,iter-time=abc", "key-secret=sec0,preallocation=foo", "help",
    };

    [Theory]
    [MemberData(nameof(CreateErrors))]
    public void Create_refuses_what_qemu_refuses_in_its_words(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.luks");
        string[] arguments = options.Length == 0 ? ["create", "-f", "luks", .. s_secrets, path, "1M"] : ["create", "-f", "luks", .. s_secrets, "-o", options, path, "1M"];
        SameAsQemu("qemu-img", arguments, path);
        Assert.False(File.Exists(path) && options != "help", "a failed create leaves no file, as qemu-img");
    }

    [Fact]
    public void Opening_without_the_right_secret_fails_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var path = QemuMade(dir);
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", Opts(path, "sec1"), "-c", "read 0 512"], path);
        SameAsQemu("qemu-io", ["--image-opts", Opts(path, "sec9"), "-c", "read 0 512"], path);
        SameAsQemu("qemu-io", ["-f", "luks", path, "-c", "read 0 512"], path);
        SameAsQemu("qemu-img", ["convert", .. s_secrets, "--image-opts", Opts(path, "sec1"), "-O", "raw", dir.File("o.raw")], path);
        SameAsQemu("qemu-img", ["resize", "-f", "luks", path, "2M"], path);
        SameAsQemu("qemu-img", ["info", "--image-opts", Opts(path, "sec9")], path, s => string.Join('\n', s.Split('\n').Where(l => !l.Contains("disk size", StringComparison.Ordinal))));
    }

    /// <summary>Header fields set to hostile values: (offset, big-endian 32-bit value) pairs, or a version.</summary>
    public static TheoryData<string, int, uint> CorruptFields => new()
    {
        { "version 2", -1, 2 },
        { "payload offset inside the header", 0x68, 4 },
        { "payload offset past the end of the file", 0x68, 0x00100000 },
        { "digest iterations zero", 0xa4, 0 },
        { "key bytes 48", 0x6c, 48 },
        { "key bytes huge", 0x6c, 0x40000000 },
        { "slot 0 state", 0xd0, 0x12345678 },
        { "slot 0 iterations zero", 0xd4, 0 },
        { "slot 2 stripes", 0xd0 + 2 * 48 + 44, 7 },
        { "slot 1 in the header", 0xd0 + 48 + 40, 2 },
        { "slot 7 in the payload", 0xd0 + 7 * 48 + 40, 4000 },
        { "slot 3 over slot 2", 0xd0 + 3 * 48 + 40, 1016 + 10 },
        { "cipher name", 0x08, 0x74776f00 },
        { "cipher mode without a dash", 0x28, 0x78747300 },
        { "hash spec", 0x48, 0x73686131 },
        { "cipher name unterminated", 0x08 + 28, 0x41414141 },
    };

    [Theory]
    [MemberData(nameof(CorruptFields))]
    public void Corrupt_headers_are_refused_with_qemu_s_error(string what, int offset, uint value)
    {
        using var dir = new TempDirectory();
        var path = QemuMade(dir);
        var bytes = File.ReadAllBytes(path);
        if (offset < 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), (ushort)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), value);
        }

        if (what == "cipher name unterminated")
        {
            bytes.AsSpan(8, 32).Fill((byte)'A');
        }

        File.WriteAllBytes(path, bytes);
        SameAsQemu("qemu-img", ["info", "-f", "luks", path], path, s => string.Join('\n', s.Split('\n').Where(l => !l.Contains("disk size", StringComparison.Ordinal))));
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", Opts(path), "-c", "read 0 512"], path);
    }
    /// <summary>iotest 025 under luks: qemu-io's <c>truncate</c> grows the image, and <c>length</c> shows it at once.</summary>
    [Fact]
    public void Qemu_io_truncate_grows_a_luks_image_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var theirs = QemuMade(dir, "theirs.luks");
        var ours = QemuMade(dir, "ours.luks");
        string[] Io(string path) => [.. s_secrets, "--image-opts", "-c", "length", "-c", "truncate 3M", "-c", "length", "-c", "write -P 0x5a 2M 64k", Opts(path)];
        var qemu = ExternalTool.Run("qemu-io", Io(theirs));
        var diskimg = Diskimg.Run(["io", .. Io(ours)]);
        Assert.Equal(QemuToolOutput.Normalise(qemu.StdOut, theirs), QemuToolOutput.Normalise(diskimg.StdOut, ours));
        Assert.Equal(qemu.ExitCode, diskimg.ExitCode);
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", "-c", "length", "-c", "read -P 0x5a 2M 64k", Opts(ours)], ours);
    }

    /// <summary>iotest 052 under luks: <c>qemu-io -s</c> on an image named by <c>--image-opts</c> writes to a temporary overlay only.</summary>
    [Fact]
    public void Qemu_io_snapshot_mode_over_a_luks_image_named_by_options_leaves_it_untouched()
    {
        using var dir = new TempDirectory();
        var path = QemuMade(dir);
        ExternalTool.QemuIo([.. s_secrets, "--image-opts", "-c", "write -P 0x11 0 1M", Opts(path)]);
        var before = File.ReadAllBytes(path);
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", "-s", "-c", "write -P 0x22 0 1M", "-c", "read -P 0x22 0 1M", Opts(path)], path);
        Assert.Equal(before, File.ReadAllBytes(path));
        SameAsQemu("qemu-io", [.. s_secrets, "--image-opts", "-c", "read -P 0x11 0 1M", Opts(path)], path);
    }
    /// <summary>iotest 282: a secret that is not UTF-8 is refused after the Formatting line, and no file is left, not even a stub that was there.</summary>
    [Fact]
    public void A_secret_that_is_not_utf8_is_refused_and_leaves_no_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("secret.bin"), [0x3a, 0x3c, 0x3b, 0xff]);
        foreach (var stub in new[] { false, true })
        {
            var theirs = dir.File("theirs.img");
            var ours = dir.File("ours.img");
            if (stub)
            {
                File.WriteAllBytes(theirs, []);
                File.WriteAllBytes(ours, []);
            }

            string[] Create(string path) => ["create", "-f", "luks", "--object", $"secret,id=sec0,file={dir.File("secret.bin")}", "-o", "key-secret=sec0", path, "4M"];
            var qemu = ExternalTool.Run("qemu-img", Create(theirs));
            var diskimg = Diskimg.Run(Create(ours));
            Assert.Equal(QemuToolOutput.Normalise(qemu.StdErr, theirs), QemuToolOutput.Normalise(diskimg.StdErr, ours));
            Assert.Equal(QemuToolOutput.Normalise(qemu.StdOut, theirs), QemuToolOutput.Normalise(diskimg.StdOut, ours));
            Assert.Equal(qemu.ExitCode, diskimg.ExitCode);
            Assert.False(File.Exists(theirs));
            Assert.False(File.Exists(ours));
        }
    }
}
