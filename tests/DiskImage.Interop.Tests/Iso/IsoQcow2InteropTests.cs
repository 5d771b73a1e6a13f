using System.Security.Cryptography;
using DiskImage.Formats;
using DiskImage.Formats.Iso9660;
using DiskImage.Formats.Qcow2;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>An ISO opened with <c>-f iso</c> copied into qcow2 and back, judged by qemu-img.</summary>
public class IsoQcow2InteropTests
{
    [Fact]
    public void Iso_copied_to_qcow2_and_back_is_bit_identical()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        AwkwardTree.Create(tree);
        var iso = dir.File("source.iso");
        Diskimg.Ok("iso", "create", "-o", iso, "-V", "ROUNDTRIP", "-J", "-R", tree);
        var qcow2 = dir.File("copy.qcow2");

        using (var source = ImageFormatRegistry.Default.Open(iso, "iso"))
        {
            Qcow2Format.Instance.Create(qcow2, Qcow2Format.Instance.ParseCreateOptions(source.Length, new Dictionary<string, string>()));
            using var target = ImageFormatRegistry.Default.Open(qcow2, "qcow2", new ImageOpenOptions { ReadOnly = false });
            var buffer = new byte[1 << 20];
            for (var offset = 0L; offset < source.Length; offset += buffer.Length)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, source.Length - offset));
                source.Read(offset, chunk);
                target.Write(offset, chunk);
            }

            target.Flush();
        }

        ExternalTool.QemuImg("check", "-f", "qcow2", qcow2);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", iso, qcow2).ExitCode);
        var back = dir.File("back.iso");
        ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "raw", qcow2, back);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(iso)), SHA256.HashData(File.ReadAllBytes(back)));

        // The ISO reader works on any block device, so the file system is readable inside the qcow2 too.
        using var image = ImageFormatRegistry.Default.Open(qcow2, "qcow2");
        using var fs = IsoFileSystem.Open(image, leaveOpen: true);
        Assert.Equal("ROUNDTRIP", fs.Volume.VolumeId);
        Assert.Equal(3 << 20, fs.Find("/blob.bin")!.Size);
    }

    [Theory]
    [InlineData("iso")]
    [InlineData("raw")]
    public void Diskimg_convert_of_an_iso_to_qcow2_and_back_is_bit_identical(string sourceFormat)
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        AwkwardTree.Create(tree);
        var iso = dir.File("source.iso");
        Diskimg.Ok("iso", "create", "-o", iso, "-V", "CONVERTED", "-J", "-R", tree);
        var qcow2 = dir.File("copy.qcow2");
        var back = dir.File("back.iso");

        Diskimg.Ok("convert", "-f", sourceFormat, "-O", "qcow2", iso, qcow2);
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "raw", qcow2, back);

        ExternalTool.QemuImg("check", "-f", "qcow2", qcow2);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", iso, qcow2).ExitCode);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(iso)), SHA256.HashData(File.ReadAllBytes(back)));
    }

    [Fact]
    public void Writes_to_an_iso_opened_as_iso_are_refused()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        AwkwardTree.Create(tree);
        var iso = dir.File("source.iso");
        Diskimg.Ok("iso", "create", "-o", iso, tree);
        var before = File.ReadAllBytes(iso);
        var result = Diskimg.Run("io", "-f", "iso", "-c", "write -P 0x41 0 512", iso);
        Assert.Equal(1, result.ExitCode);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(iso)));
    }
}
