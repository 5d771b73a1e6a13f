using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// Every cipher, mode, IV generator and hash qemu-img 7.2 accepts for LUKS (standalone and in qcow2), both ways: what
/// qemu-img creates and qemu-io writes, diskimg reads, writes, converts and re-keys; what diskimg creates, qemu-img
/// describes and reads the same. Bytes are checked with <c>qemu-img compare</c>; refusals are qemu-img's lines and codes.
/// </summary>
public class LuksCipherInteropTests
{
    private static readonly string[] s_secrets = ["--object", "secret,id=sec0,data=123456", "--object", "secret,id=sec1,data=abc"];

    private static string Opts(string path, string secret = "sec0") => $"driver=luks,key-secret={secret},file.filename={path}";

    private static string RawOpts(string path) => $"driver=raw,file.filename={path}";

    private static string Qcow2Opts(string path, string secret = "sec0") => $"driver=qcow2,encrypt.key-secret={secret},file.filename={path}";

    /// <summary>Each cipher with each mode it takes, and a spread of IV generators and hashes (cast5 has no xts, QEMU's rule).</summary>
    public static TheoryData<string> Combinations => new()
    {
        "cipher-alg=aes-128,cipher-mode=ecb,hash-alg=md5",
        "cipher-alg=aes-256,cipher-mode=ctr,ivgen-alg=plain,hash-alg=sha224",
        "cipher-alg=aes-256,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=md5,hash-alg=ripemd160",
        "cipher-alg=twofish-128,cipher-mode=xts,hash-alg=sha1",
        "cipher-alg=twofish-192,cipher-mode=xts,ivgen-alg=plain,hash-alg=sha384",
        "cipher-alg=twofish-256,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha256",
        "cipher-alg=twofish-256,cipher-mode=ecb,hash-alg=sha512",
        "cipher-alg=twofish-128,cipher-mode=ctr,ivgen-alg=plain64,hash-alg=md5",
        "cipher-alg=serpent-256,cipher-mode=xts,hash-alg=ripemd160",
        "cipher-alg=serpent-192,cipher-mode=xts,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha224",
        "cipher-alg=serpent-128,cipher-mode=cbc,ivgen-alg=plain,hash-alg=sha1",
        "cipher-alg=serpent-256,cipher-mode=ecb,hash-alg=sha256",
        "cipher-alg=serpent-256,cipher-mode=ctr,ivgen-alg=essiv,ivgen-hash-alg=md5,hash-alg=sha512",
        "cipher-alg=cast5-128,cipher-mode=cbc,hash-alg=sha256",
        "cipher-alg=cast5-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=md5,hash-alg=sha1",
        "cipher-alg=cast5-128,cipher-mode=ecb,ivgen-alg=plain,hash-alg=ripemd160",
        "cipher-alg=cast5-128,cipher-mode=ctr,ivgen-alg=plain64,hash-alg=md5",
    };

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Standalone_images_qemu_makes_are_read_written_and_converted_by_us(string options)
    {
        using var dir = new TempDirectory();
        var image = dir.File("q.luks");
        ExternalTool.QemuImg(["create", "-f", "luks", .. s_secrets, "-o", $"{options},key-secret=sec0,iter-time=10", image, "1M"]);
        ExternalTool.QemuIo([.. s_secrets, "--image-opts", Opts(image), "-c", "write -P 0x5a 0 64k", "-c", "write -P 0x77 1020k 4k"]);

        // Ours writes across sector boundaries; qemu-io reads back every byte.
        Diskimg.Ok(["io", .. s_secrets, "--image-opts", Opts(image), "-c", "read -P 0x5a 0 64k", "-c", "write -P 0x33 100 3000"]);
        var read = ExternalTool.QemuIo([.. s_secrets, "--image-opts", Opts(image), "-c", "read -P 0x5a 0 100", "-c", "read -P 0x33 100 3000", "-c", "read -P 0x5a 3100 62436", "-c", "read -P 0x77 1020k 4k"]);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);

        // Converted out to raw and into a new image of the same cipher by us: qemu-img finds every byte equal.
        var raw = dir.File("out.raw");
        Diskimg.Ok(["convert", .. s_secrets, "--image-opts", Opts(image), "-O", "raw", raw]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "--image-opts", Opts(image), RawOpts(raw)]).ExitCode);
        var copy = dir.File("copy.luks");
        Diskimg.Ok(["convert", .. s_secrets, "-O", "luks", "-o", $"{options},key-secret=sec1,iter-time=10", "--image-opts", Opts(image), copy]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "--image-opts", Opts(image), Opts(copy, "sec1")]).ExitCode);

        // A second passphrase added by us opens the image in qemu-io.
        Diskimg.Ok(["amend", .. s_secrets, "--image-opts", Opts(image), "-o", "state=active,new-secret=sec1,iter-time=10"]);
        read = ExternalTool.QemuIo([.. s_secrets, "--image-opts", Opts(image, "sec1"), "-c", "read -P 0x33 100 3000"]);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Standalone_images_we_make_are_described_and_read_by_qemu(string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.luks");
        var theirs = dir.File("theirs.luks");
        string[] Create(string path) => ["create", "-f", "luks", .. s_secrets, "-o", $"{options},key-secret=sec0,iter-time=10", path, "1M"];
        var created = Diskimg.Ok(Create(ours));
        Assert.Equal(ExternalTool.QemuImg(Create(theirs)).Replace(theirs, ours, StringComparison.Ordinal), created);
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        Assert.Equal(InfoWithoutKeys(ExternalTool.Run("qemu-img", ["info", theirs]).StdOut, theirs), InfoWithoutKeys(Diskimg.Run(["info", ours]).StdOut, ours));

        Diskimg.Ok(["io", .. s_secrets, "--image-opts", Opts(ours), "-c", "write -P 0x5a 0 64k", "-c", "write -P 0x11 1000 100", "-c", "write -P 0x22 1020k 4k"]);
        var read = ExternalTool.QemuIo([.. s_secrets, "--image-opts", Opts(ours), "-c", "read -P 0x5a 0 1000", "-c", "read -P 0x11 1000 100", "-c", "read -P 0x5a 1100 64436", "-c", "read -P 0x22 1020k 4k"]);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);

        // qemu-img converts it to a qemu-made image of the same cipher; both hold the same bytes.
        ExternalTool.QemuImg(["convert", .. s_secrets, "-O", "luks", "-o", $"{options},key-secret=sec1,iter-time=10", "--image-opts", Opts(ours), theirs]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "--image-opts", Opts(ours), Opts(theirs, "sec1")]).ExitCode);
        Assert.Equal(0, Diskimg.Run(["compare", .. s_secrets, "--image-opts", Opts(ours), Opts(theirs, "sec1")]).ExitCode);
    }

    [Theory]
    [InlineData("cipher-alg=twofish-256,cipher-mode=xts,hash-alg=sha224")]
    [InlineData("cipher-alg=serpent-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=ripemd160")]
    [InlineData("cipher-alg=cast5-128,cipher-mode=ctr,hash-alg=md5")]
    [InlineData("cipher-alg=aes-128,cipher-mode=ecb,hash-alg=sha1")]
    public void Qcow2_images_encrypted_either_way_hold_the_same_bytes(string options)
    {
        using var dir = new TempDirectory();
        var encrypt = string.Join(',', options.Split(',').Select(o => "encrypt." + o));
        string[] Create(string path) => ["create", "-f", "qcow2", .. s_secrets, "-o", $"encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,{encrypt}", path, "1M"];
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        Diskimg.Ok(Create(ours));
        ExternalTool.QemuImg(Create(theirs));
        Assert.Equal(InfoWithoutKeys(ExternalTool.Run("qemu-img", ["info", theirs]).StdOut, theirs), InfoWithoutKeys(Diskimg.Run(["info", ours]).StdOut, ours));

        Diskimg.Ok(["io", .. s_secrets, "--image-opts", Qcow2Opts(ours), "-c", "write -P 0x5a 0 64k", "-c", "write -P 0x11 700k 3k"]);
        ExternalTool.QemuIo([.. s_secrets, "--image-opts", Qcow2Opts(theirs), "-c", "write -P 0x5a 0 64k", "-c", "write -P 0x11 700k 3k"]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "--image-opts", Qcow2Opts(ours), Qcow2Opts(theirs)]).ExitCode);
        Assert.Contains("No errors were found", ExternalTool.Run("qemu-img", ["check", .. s_secrets, "--image-opts", Qcow2Opts(ours)]).StdOut, StringComparison.Ordinal);

        // Our writes into qemu's image and qemu's into ours.
        Diskimg.Ok(["io", .. s_secrets, "--image-opts", Qcow2Opts(theirs), "-c", "write -P 0x44 300k 5k"]);
        ExternalTool.QemuIo([.. s_secrets, "--image-opts", Qcow2Opts(ours), "-c", "write -P 0x44 300k 5k"]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["compare", .. s_secrets, "--image-opts", Qcow2Opts(ours), Qcow2Opts(theirs)]).ExitCode);
        Assert.Equal(0, Diskimg.Run(["compare", .. s_secrets, "--image-opts", Qcow2Opts(ours), Qcow2Opts(theirs)]).ExitCode);
    }

    /// <summary>Combinations QEMU's crypto layer refuses: des/3des (no LUKS name), xts on a 64-bit block, ESSIV digests that key no cipher.</summary>
    [Theory]
    [InlineData("cipher-alg=des")]
    [InlineData("cipher-alg=3des,cipher-mode=cbc")]
    [InlineData("cipher-alg=cast5-128,cipher-mode=xts")]
    [InlineData("cipher-alg=cast5-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256")]
    [InlineData("cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha1")]
    [InlineData("cipher-alg=twofish-256,cipher-mode=xts,ivgen-alg=essiv,ivgen-hash-alg=sha224")]
    [InlineData("cipher-alg=serpent-128,cipher-mode=ctr,ivgen-alg=essiv,ivgen-hash-alg=sha512")]
    [InlineData("cipher-alg=sm4")]
    public void Refused_combinations_give_qemus_lines_and_exit_codes(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.img");
        var encrypt = string.Join(',', options.Split(',').Select(o => "encrypt." + o));
        string[][] runs =
        [
            ["create", "-f", "luks", .. s_secrets, "-o", $"{options},key-secret=sec0,iter-time=10", path, "1M"],
            ["create", "-f", "qcow2", .. s_secrets, "-o", $"encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,{encrypt}", path, "1M"],
        ];
        foreach (var arguments in runs)
        {
            var theirs = ExternalTool.Run("qemu-img", arguments);
            var theirsLeft = File.Exists(path);
            File.Delete(path);
            var ours = Diskimg.Run(arguments);
            Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, path), QemuToolOutput.Normalise(ours.StdErr, path));
            Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, path), QemuToolOutput.Normalise(ours.StdOut, path));
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirsLeft, File.Exists(path));
            File.Delete(path);
        }
    }

    [Fact]
    public void Cryptsetup_reads_the_header_we_write()
    {
        if (ExternalTool.Run("cryptsetup", ["--version"]).ExitCode != 0)
        {
            Assert.Fail("cryptsetup (package cryptsetup-bin) is needed by this test");
        }

        using var dir = new TempDirectory();
        var ours = dir.File("ours.luks");
        Diskimg.Ok(["create", "-f", "luks", .. s_secrets, "-o", "cipher-alg=twofish-256,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha512,key-secret=sec0,iter-time=10", ours, "1M"]);
        var dump = ExternalTool.Run("cryptsetup", ["luksDump", ours]);
        Assert.Equal(0, dump.ExitCode);
        Assert.Matches(@"Cipher name:\s+twofish", dump.StdOut);
        Assert.Matches(@"Cipher mode:\s+cbc-essiv:sha256", dump.StdOut);
        Assert.Matches(@"Hash spec:\s+sha512", dump.StdOut);
        Assert.Matches(@"MK bits:\s+256", dump.StdOut);
        Assert.Matches(@"Key Slot 0: ENABLED", dump.StdOut);
    }

    /// <summary>qemu-img info's text with the per-image values (uuid, iteration counts, salts' effects) and the name left out.</summary>
    private static string InfoWithoutKeys(string info, string path) => string.Join('\n', info.Replace(path, "IMG", StringComparison.Ordinal).Split('\n')
        .Where(line => !line.Contains("uuid:", StringComparison.Ordinal) && !line.Contains("iters:", StringComparison.Ordinal) && !line.Contains("disk size:", StringComparison.Ordinal)));
}
