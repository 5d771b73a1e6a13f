using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Map;

/// <summary>The picture of a LUKS-encrypted qcow2 made by qemu-img colours its data apart from a plain image's data.</summary>
public class MapPictureEncryptionTests
{
    private const string PlainData = "#d62728";
    private const string EncryptedData = "#2ca02c";

    [Fact]
    public void Encrypted_data_has_its_own_colour_and_legend_label()
    {
        using var dir = new TempDirectory();
        var secret = dir.File("pass.txt");
        File.WriteAllText(secret, "hunter2");
        var encrypted = dir.File("enc.qcow2");
        ExternalTool.QemuImg("create", "-q", "--object", $"secret,id=s0,file={secret}", "-f", "qcow2",
            "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", encrypted, "4M");
        ExternalTool.QemuIo("--object", $"secret,id=s0,file={secret}", "--image-opts", "-c", "write -P 0x61 0 2M",
            $"driver=qcow2,file.filename={encrypted},encrypt.key-secret=s0");
        var plain = dir.File("plain.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", plain, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x61 0 2M", plain);

        var encryptedSvg = Diskimg.Ok("map", "--output=svg", "--object", $"secret,id=s0,file={secret}", "--image-opts",
            $"driver=qcow2,file.filename={encrypted},encrypt.key-secret=s0");
        var plainSvg = Diskimg.Ok("map", "--output=svg", plain);

        Assert.Contains($"fill=\"{EncryptedData}\"><title>", encryptedSvg, StringComparison.Ordinal);
        Assert.DoesNotContain($"fill=\"{PlainData}\"", encryptedSvg, StringComparison.Ordinal);
        Assert.Contains("data (encrypted): 2097152 bytes", encryptedSvg, StringComparison.Ordinal);
        Assert.Contains($"fill=\"{PlainData}\"><title>", plainSvg, StringComparison.Ordinal);
        Assert.DoesNotContain(EncryptedData, plainSvg, StringComparison.Ordinal);
    }
}
