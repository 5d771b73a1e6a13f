using System.Text;
using DiskImage.Crypto;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// The LUKS layer against QEMU's own LUKS driver (<c>-f luks</c>: a LUKS header followed by the payload),
/// independent of qcow2. For that driver the IV is the sector number within the payload.
/// </summary>
public class RawLuksInteropTests
{
    private const string Passphrase = "luks-pass";

    private static string[] Secret(string id, string value) => ["--object", $"secret,id={id},data={value}"];

    [Theory]
    [InlineData("")]
    [InlineData("cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,")]
    [InlineData("cipher-alg=aes-128,hash-alg=sha1,")]
    public void Reads_what_qemu_wrote(string cipherOptions)
    {
        using var dir = new TempDirectory();
        var path = dir.File("q.luks");
        ExternalTool.QemuImg(["create", .. Secret("s0", Passphrase), "-f", "luks", "-o", $"{cipherOptions}key-secret=s0,iter-time=10", path, "1M"]);
        ExternalTool.QemuIo([.. Secret("s0", Passphrase), "--image-opts", $"driver=luks,file.filename={path},key-secret=s0",
            "-c", "write -P 0x5a 0 64k", "-c", "write -P 0xa5 512k 4k"]);

        using var file = HostFile.Open(path, writable: false);
        var volume = LuksVolume.Open(new HostFileLuksStorage(file, 0, file.Length));
        using var encryption = LuksEncryption.Unlock(volume, Encoding.UTF8.GetBytes(Passphrase));
        var payload = (long)volume.Header.PayloadOffsetSectors * 512;

        Assert.All(ReadPlain(file, encryption, payload, 0, 65536), b => Assert.Equal(0x5a, b));
        Assert.All(ReadPlain(file, encryption, payload, 512 << 10, 4096), b => Assert.Equal(0xa5, b));
        Assert.Throws<InvalidPassphraseException>(() => volume.Unlock("wrong"u8));
    }

    [Theory]
    [InlineData("aes-256", "xts", "plain64", null, "sha256")]
    [InlineData("aes-128", "cbc", "essiv", "sha256", "sha256")]
    [InlineData("aes-256", "cbc", "plain", null, "sha512")]
    public void Qemu_reads_what_we_wrote_and_honours_our_key_slots(string alg, string mode, string ivgen, string? ivHash, string hash)
    {
        using var dir = new TempDirectory();
        var path = dir.File("ours.luks");
        var options = new LuksCreateOptions { Cipher = LuksCipherSpec.FromOptions(alg, mode, ivgen, ivHash), Hash = DiskImage.Crypto.LuksHash.Parse(hash), IterTimeMs = 10 };
        var area = LuksVolume.AreaLength(options.Cipher);
        using (var file = HostFile.Create(path))
        {
            file.SetLength(area + (1 << 20));
            var (volume, masterKey) = LuksVolume.Format(new HostFileLuksStorage(file, 0, area), options, Encoding.UTF8.GetBytes(Passphrase));
            using var encryption = new LuksEncryption(volume.Header.CipherSpec, masterKey);
            var data = new byte[65536];
            Array.Fill(data, (byte)0x3c);
            encryption.Encrypt(65536, 65536, data);
            file.Write(area + 65536, data);
            volume.AddKey(masterKey, "second"u8, 5, 10);
        }

        var info = ExternalTool.QemuImg("info", "--output=json", path);
        Assert.Contains("\"format\": \"luks\"", info, StringComparison.Ordinal);
        Assert.Contains($"\"cipher-alg\": \"{alg}\"", info, StringComparison.Ordinal);
        Assert.Contains($"\"cipher-mode\": \"{mode}\"", info, StringComparison.Ordinal);

        var read = ExternalTool.QemuIo([.. Secret("s0", Passphrase), "--image-opts", $"driver=luks,file.filename={path},key-secret=s0",
            "-c", "read -P 0x3c 64k 64k"]);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
        var second = ExternalTool.QemuIo([.. Secret("s1", "second"), "--image-opts", $"driver=luks,file.filename={path},key-secret=s1", "-c", "read -P 0x3c 64k 64k"]);
        Assert.DoesNotContain("Pattern verification failed", second, StringComparison.Ordinal);
        var wrong = ExternalTool.Run("qemu-io", [.. Secret("s2", "wrong"), "--image-opts", $"driver=luks,file.filename={path},key-secret=s2", "-c", "read 0 512"]);
        Assert.Contains("Invalid password, cannot unlock any keyslot", wrong.StdErr + wrong.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_slots_erased_by_us_no_longer_open_under_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("slots.luks");
        ExternalTool.QemuImg(["create", .. Secret("s0", Passphrase), "-f", "luks", "-o", "key-secret=s0,iter-time=10", path, "1M"]);
        ExternalTool.QemuIo([.. Secret("s0", Passphrase), "--image-opts", $"driver=luks,file.filename={path},key-secret=s0", "-c", "write -P 0x77 0 4k"]);

        using (var file = HostFile.Open(path, writable: true))
        {
            var volume = LuksVolume.Open(new HostFileLuksStorage(file, 0, file.Length));
            var masterKey = volume.Unlock(Encoding.UTF8.GetBytes(Passphrase));
            Assert.Equal(1, volume.AddKey(masterKey, "new"u8, null, 10));
            volume.EraseKey(0, force: false);
        }

        var check = ExternalTool.Run("qemu-img", ["check", .. Secret("s1", "new"), "--image-opts", $"driver=luks,file.filename={path},key-secret=s1"]);
        var old = ExternalTool.Run("qemu-io", [.. Secret("s0", Passphrase), "--image-opts", $"driver=luks,file.filename={path},key-secret=s0", "-c", "read 0 512"]);
        var io = ExternalTool.QemuIo([.. Secret("s1", "new"), "--image-opts", $"driver=luks,file.filename={path},key-secret=s1", "-c", "read -P 0x77 0 4k"]);

        Assert.DoesNotContain("Invalid password", check.StdErr, StringComparison.Ordinal);
        Assert.Contains("Invalid password, cannot unlock any keyslot", old.StdErr + old.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("Pattern verification failed", io, StringComparison.Ordinal);
    }

    private static byte[] ReadPlain(HostFile file, LuksEncryption encryption, long payload, long guestOffset, int length)
    {
        var data = new byte[length];
        file.Read(payload + guestOffset, data);
        encryption.Decrypt(guestOffset, guestOffset, data);
        return data;
    }
}
