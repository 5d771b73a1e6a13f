using System.Text;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>LUKS-encrypted qcow2 images that diskimg creates and converts into, judged by qemu-img and qemu-io.</summary>
public class LuksCreateInteropTests
{
    private const string Secret = "secret,id=sec0,data=correct horse";
    private const string Marker = "PLAINTEXT-MARKER-7f3a";

    [Fact]
    public void Convert_into_luks_qcow2_gives_an_image_qemu_reads_checks_and_writes()
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var data = new byte[4 << 20];
        new Random(7).NextBytes(data.AsSpan(0, 1 << 20));
        for (var at = 2 << 20; at < 3 << 20; at += 4096)
        {
            Encoding.ASCII.GetBytes(Marker).CopyTo(data, at);
        }

        File.WriteAllBytes(source, data);
        var target = dir.File("secret.qcow2");
        Diskimg.Ok("convert", "--object", Secret, "-f", "raw", "-O", "qcow2",
            "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", source, target);

        AssertQemuAccepts(target, source);
    }

    [Fact]
    public void Create_makes_a_luks_qcow2_qemu_io_can_use()
    {
        using var dir = new TempDirectory();
        var target = dir.File("blank.qcow2");
        Diskimg.Ok("create", "--object", Secret, "-f", "qcow2",
            "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", target, "8M");
        var zero = dir.File("zero.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", zero, "8M");

        AssertQemuAccepts(target, zero);
    }

    [Fact]
    public void Luks_options_without_a_secret_are_refused_and_nothing_is_created()
    {
        using var dir = new TempDirectory();
        var target = dir.File("nosecret.qcow2");
        var result = Diskimg.Run("create", "-f", "qcow2", "-o", "encrypt.format=luks", target, "8M");
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("key-secret", result.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
    }

    private static void AssertQemuAccepts(string image, string expectedRaw)
    {
        var opts = $"driver=qcow2,file.filename={image},encrypt.key-secret=sec0";
        Assert.Contains("\"format\": \"luks\"", ExternalTool.QemuImg("info", "--output=json", image), StringComparison.Ordinal);
        ExternalTool.QemuImg("check", "--object", Secret, "--image-opts", opts);
        var compare = ExternalTool.Run("qemu-img", "compare", "--object", Secret, "--image-opts", $"driver=raw,file.filename={expectedRaw}", opts);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);

        var bytes = File.ReadAllBytes(image);
        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(Marker)));

        var io = ExternalTool.QemuIo("--object", Secret, "--image-opts", opts, "-c", "write -P 0x77 1M 64k", "-c", "read -P 0x77 1M 64k");
        Assert.DoesNotContain("Pattern verification failed", io, StringComparison.Ordinal);
        ExternalTool.QemuImg("check", "--object", Secret, "--image-opts", opts);
    }
}
