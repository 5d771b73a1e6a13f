using System.Text;
using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Options;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>Encrypted qcow2 images made by qemu-img and qemu-io, read and written by the library, judged by QEMU.</summary>
public class Qcow2EncryptionInteropTests
{
    private const string Passphrase = "qcow2-secret";
    private const long Size = 4 << 20;

    private static string[] Secret(string id = "s0", string value = Passphrase) => ["--object", $"secret,id={id},data={value}"];

    private static string ImageOpts(string path, string id = "s0") => $"driver=qcow2,file.filename={path},encrypt.key-secret={id}";

    private static ImageOpenOptions Unlocking(string id = "s0", string value = Passphrase, bool readOnly = true)
    {
        var secrets = new SecretStore();
        secrets.Add(id, Encoding.UTF8.GetBytes(value));
        return new ImageOpenOptions { SecretProvider = secrets.Get, KeySecret = id, ReadOnly = readOnly };
    }

    private static void QemuWrite(string path, params string[] commands)
    {
        var arguments = new List<string>(Secret()) { "--image-opts" };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(ImageOpts(path));
        var output = ExternalTool.QemuIo([.. arguments]);
        Assert.DoesNotContain("Pattern verification failed", output, StringComparison.Ordinal);
    }

    private static byte[] QemuContent(string path)
    {
        var raw = path + ".expected.raw";
        ExternalTool.QemuImg(["convert", .. Secret(), "--image-opts", ImageOpts(path), "-O", "raw", raw]);
        var bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    private static byte[] OurContent(string path, ImageOpenOptions options)
    {
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2", options);
        var bytes = new byte[image.Length];
        image.Read(0, bytes);
        return bytes;
    }

    private static readonly string[] s_writes =
    [
        "write -P 0x11 0 4k",
        "write -P 0x22 5000 70000",
        "write -P 0x33 1398101 300k",
        "write -P 0x44 2097275 1000",
        $"write -P 0x55 {Size - 65536 - 512} 66048",
    ];

    [Theory]
    [InlineData("encrypt.format=luks")]
    [InlineData("encrypt.format=luks,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha256")]
    [InlineData("encrypt.format=luks,encrypt.cipher-alg=aes-128,encrypt.hash-alg=sha512")]
    [InlineData("encrypt.format=aes")]
    public void Reads_qemu_made_encrypted_images_as_qemu_img_convert_does(string encryption)
    {
        using var dir = new TempDirectory();
        var path = dir.File("enc.qcow2");
        ExternalTool.QemuImg(["create", "-q", .. Secret(), "-f", "qcow2", "-o", $"{encryption},encrypt.key-secret=s0{(encryption.EndsWith("aes", StringComparison.Ordinal) ? "" : ",encrypt.iter-time=10")}", path, Size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        QemuWrite(path, s_writes);

        Assert.Equal(QemuContent(path), OurContent(path, Unlocking()));
    }

    [Fact]
    public void Info_reports_the_luks_header_like_qemu_img()
    {
        using var dir = new TempDirectory();
        var path = dir.File("info.qcow2");
        ExternalTool.QemuImg(["create", "-q", .. Secret(), "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv", path, "1M"]);
        var qemu = System.Text.Json.JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", path)).RootElement
            .GetProperty("format-specific").GetProperty("data").GetProperty("encrypt");

        using var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { OpenBackingChain = false, MetadataOnly = true });
        var info = image.GetInfo();
        var ours = Assert.IsType<DiskImage.Formats.Qcow2.Qcow2SpecificInfo>(info.FormatSpecific).Encrypt!;

        Assert.True(info.Encrypted);
        Assert.Equal(qemu.GetProperty("format").GetString(), ours.Format);
        Assert.Equal(qemu.GetProperty("cipher-alg").GetString(), ours.CipherAlg);
        Assert.Equal(qemu.GetProperty("cipher-mode").GetString(), ours.CipherMode);
        Assert.Equal(qemu.GetProperty("ivgen-alg").GetString(), ours.IvgenAlg);
        Assert.Equal(qemu.GetProperty("ivgen-hash-alg").GetString(), ours.IvgenHashAlg);
        Assert.Equal(qemu.GetProperty("hash-alg").GetString(), ours.HashAlg);
        Assert.Equal(qemu.GetProperty("uuid").GetString(), ours.Uuid);
        Assert.Equal(qemu.GetProperty("payload-offset").GetInt64(), ours.PayloadOffset);
        Assert.Equal(qemu.GetProperty("master-key-iters").GetInt64(), ours.MasterKeyIters);
        var slots = qemu.GetProperty("slots").EnumerateArray().ToList();
        Assert.Equal(slots.Count, ours.Slots.Count);
        for (var i = 0; i < slots.Count; i++)
        {
            Assert.Equal(slots[i].GetProperty("active").GetBoolean(), ours.Slots[i].Active);
            Assert.Equal(slots[i].GetProperty("key-offset").GetInt64(), ours.Slots[i].KeyOffset);
            Assert.Equal(slots[i].TryGetProperty("iters", out var iters) ? iters.GetInt64() : null, ours.Slots[i].Iters);
            Assert.Equal(slots[i].TryGetProperty("stripes", out var stripes) ? stripes.GetInt64() : null, ours.Slots[i].Stripes);
        }

        // Without the secret the metadata is readable but the data is not, in qemu-img's words.
        var e = Assert.Throws<InvalidOptionException>(() => image.Read(0, new byte[512]));
        Assert.Equal("Parameter 'encrypt.key-secret' is required for cipher", e.Message);
    }

    [Fact]
    public void Writes_to_a_luks_image_are_read_back_by_qemu_and_leave_it_clean()
    {
        using var dir = new TempDirectory();
        var path = dir.File("write.qcow2");
        ExternalTool.QemuImg(["create", "-q", .. Secret(), "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", path, Size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        QemuWrite(path, "write -P 0x66 0 128k");

        var marker = Encoding.ASCII.GetBytes("PLAINTEXT-MARKER-7f3a");
        using (var image = ImageFormatRegistry.Default.Open(path, "qcow2", Unlocking(readOnly: false)))
        {
            image.Write(1000, Enumerable.Repeat((byte)0x77, 3000).ToArray());          // partial sectors, allocated cluster
            image.Write(200_000, Enumerable.Repeat((byte)0x88, 70_000).ToArray());     // new clusters, unaligned
            var markers = new byte[65536];
            for (var i = 0; i + marker.Length <= markers.Length; i += marker.Length)
            {
                marker.CopyTo(markers, i);
            }

            image.Write(1 << 20, markers);
        }

        QemuWrite(path,
            "read -P 0x66 0 1000", "read -P 0x77 1000 3000", "read -P 0x66 4000 127072",
            "read -P 0x88 200000 70000");
        var check = ExternalTool.Run("qemu-img", ["check", .. Secret(), "--image-opts", ImageOpts(path)]);
        Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
        Assert.Equal(-1, File.ReadAllBytes(path).AsSpan().IndexOf(marker));
        Assert.Equal(QemuContent(path), OurContent(path, Unlocking()));
    }

    [Fact]
    public void Wrong_and_missing_secrets_give_qemus_errors()
    {
        using var dir = new TempDirectory();
        var path = dir.File("errors.qcow2");
        ExternalTool.QemuImg(["create", "-q", .. Secret(), "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", path, "1M"]);

        var wrong = Assert.Throws<InvalidPassphraseException>(() => ImageFormatRegistry.Default.Open(path, "qcow2", Unlocking(value: "nope")));
        Assert.Equal($"Could not open '{path}': Invalid password, cannot unlock any keyslot", wrong.Message);
        var missing = Assert.Throws<InvalidOptionException>(() => ImageFormatRegistry.Default.Open(path, "qcow2", Unlocking() with { KeySecret = "other" }));
        Assert.Equal($"Could not open '{path}': No secret with id 'other'", missing.Message);
    }
}

/// <summary>
/// Legacy AES qcow2 (<c>encryption=on</c>, <c>encrypt.format=aes</c>), which qemu-io 7.2 still writes: the same writes
/// made by qemu-io and by <c>diskimg io</c> (partial sectors, copy on write, whole clusters, an overlay over an AES
/// backing file) give files that hold the same ciphertext and read the same in both tools (iotests 134 and 158).
/// </summary>
public class LegacyAesWriteInteropTests
{
    private static readonly string[] s_secret = ["--object", "secret,id=sec0,data=astrochicken"];

    // The overlay's backing file is the one its header names, unlocked with the same secret.
    private static string Opts(string path, bool chain = false) =>
        $"driver=qcow2,file.filename={path},encrypt.key-secret=sec0" + (chain ? ",backing.encrypt.key-secret=sec0" : "");

    private static readonly string[] s_writes =
    [
        "write -P 0xb 512 512", "write -P 0x11 1000 3000", "write -P 0x22 70000 200000", "write -P 0x33 1M 128k", "write -z 1100k 8k",
    ];

    private static string[] Io(string opts, params string[] commands) => [.. s_secret, "--image-opts", .. commands.SelectMany(c => new[] { "-c", c }), opts];

    [Theory]
    [InlineData("encryption=on,encrypt.key-secret=sec0")]
    [InlineData("encrypt.format=aes,encrypt.key-secret=sec0")]
    public void Diskimg_io_writes_legacy_aes_images_as_qemu_io_does(string options)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        foreach (var path in new[] { theirs, ours })
        {
            ExternalTool.QemuImg(["create", "-q", .. s_secret, "-f", "qcow2", "-o", options, path, "2M"]);
        }

        var qemu = ExternalTool.Run("qemu-io", Io(Opts(theirs), s_writes));
        var diskimg = Diskimg.Run(["io", .. Io(Opts(ours), s_writes)]);
        Assert.Equal(0, qemu.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(qemu.StdErr, null), QemuToolOutput.Normalise(diskimg.StdErr, null));
        Assert.Equal(QemuToolOutput.Normalise(qemu.StdOut, null), QemuToolOutput.Normalise(diskimg.StdOut, null));
        Assert.Equal(qemu.ExitCode, diskimg.ExitCode);

        // The IVs depend on the guest offset only, so the same writes leave the same bytes in the same clusters.
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        var read = ExternalTool.QemuIo(Io(Opts(ours), "read -P 0 0 512", "read -P 0xb 512 488", "read -P 0x11 1000 3000", "read -P 0x22 70000 200000", "read -P 0x33 1M 76k", "read -P 0 1100k 8k"));
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
        Assert.Equal(0, ExternalTool.Run("qemu-img", ["check", .. s_secret, "--image-opts", Opts(ours)]).ExitCode);
    }

    [Fact]
    public void A_partial_write_into_an_aes_overlay_copies_the_aes_backing_data_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var results = new List<byte[]>();
        foreach (var name in new[] { "theirs", "ours" })
        {
            // Same names in two directories and a relative backing name, so that the overlays' headers are alike too.
            var side = Directory.CreateDirectory(dir.File(name)).FullName;
            var baseImage = Path.Combine(side, "t.base");
            var top = Path.Combine(side, "t.qcow2");
            ExternalTool.QemuImg(["create", "-q", .. s_secret, "-f", "qcow2", "-o", "encryption=on,encrypt.key-secret=sec0", baseImage, "1M"]);
            ExternalTool.QemuImg(["create", "-q", "-u", .. s_secret, "-f", "qcow2", "-o", "encryption=on,encrypt.key-secret=sec0", "-b", "t.base", "-F", "qcow2", top, "1M"]);
            string[] commands = ["write -P 0xa 0 1M"];
            string[] overlay = ["write -P 0xe 0 1024", "write -P 0xf 200000 100"];
            if (name == "theirs")
            {
                ExternalTool.QemuIo(Io(Opts(baseImage), commands));
                ExternalTool.QemuIo(Io(Opts(top, chain: true), overlay));
            }
            else
            {
                Diskimg.Ok(["io", .. Io(Opts(baseImage), commands)]);
                Diskimg.Ok(["io", .. Io(Opts(top, chain: true), overlay)]);
            }

            var read = ExternalTool.QemuIo(Io(Opts(top, chain: true), "read -P 0xe 0 1024", "read -P 0xa 1024 64512", "read -P 0xf 200000 100", "read -P 0xa 200100 848476"));
            Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
            results.Add([.. File.ReadAllBytes(baseImage), .. File.ReadAllBytes(top)]);
        }

        Assert.Equal(results[0], results[1]);
    }
}
