using DiskImage.Interop.Tests.Infrastructure;
using static DiskImage.Interop.Tests.Crypto.EncryptedImages;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// Preallocated clusters of an encrypted image hold no ciphertext, so they must read as zeroes (QEMU's test
/// 188: a preallocated encrypted convert must compare identical to its source). Judged by qemu-img compare
/// and qemu-io for every preallocation mode, both compatibility levels and extended L2 entries, through
/// convert, create and resize.
/// </summary>
public class EncryptedPreallocationInteropTests
{
    public static TheoryData<string, string> Layouts => new()
    {
        { "metadata", "compat=1.1" }, { "falloc", "compat=1.1" }, { "full", "compat=1.1" },
        { "metadata", "compat=0.10" }, { "falloc", "compat=0.10" }, { "full", "compat=0.10" },
        { "metadata", "extended_l2=on" }, { "full", "extended_l2=on,cluster_size=128k" },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void A_preallocated_encrypted_convert_has_the_source_s_content(string preallocation, string layout)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        // Data, then a zero cluster, then data, then a long zero tail: the zero parts are never written by convert.
        var data = new byte[1 << 20];
        new Random(188).NextBytes(data.AsSpan(0, 65536));
        new Random(189).NextBytes(data.AsSpan(131072, 65536));
        File.WriteAllBytes(source, data);
        var target = dir.File("target.qcow2");

        Diskimg.Ok(["convert", .. Secret(), "-f", "raw", "-O", "qcow2", "-o", $"{Luks},preallocation={preallocation},{layout}", source, target]);

        var compare = ExternalTool.Run("qemu-img", ["compare", .. Secret(), "--image-opts", $"driver=raw,file.filename={source}", Opts(target)]);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
        AssertQemuCheckClean(target);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Preallocated_encrypted_create_and_resize_read_zeroes(string preallocation, string layout)
    {
        using var dir = new TempDirectory();
        var image = dir.File("image.qcow2");
        Diskimg.Ok(["create", .. Secret(), "-f", "qcow2", "-o", $"{Luks},preallocation={preallocation},{layout}", image, "1M"]);
        QemuIo(image, "read -P 0 0 1M");
        AssertQemuCheckClean(image);

        Diskimg.Ok(["resize", .. Secret(), $"--preallocation={preallocation}", "--image-opts", Opts(image), "3M"]);
        QemuIo(image, "read -P 0 0 3M", "write -P 0x5c 1536k 4k", "read -P 0 0 1536k", "read -P 0x5c 1536k 4k", "read -P 0 1540k 1532k");
        AssertQemuCheckClean(image);
    }

    [Theory]
    [InlineData("metadata")]
    [InlineData("full")]
    public void A_preallocated_overlay_shows_its_backing_file_like_qemu_s(string preallocation)
    {
        // qemu-img preallocates an overlay only with extended L2 entries, whose subclusters stay unallocated.
        using var dir = new TempDirectory();
        var backing = dir.File("base.qcow2");
        Create(backing, "1M");
        QemuIo(backing, "write -P 0x3c 0 256k");
        var refused = dir.File("refused.qcow2");
        string[] withBacking = ["-b", backing, "-F", "qcow2"];
        var theirs = ExternalTool.Run("qemu-img", ["create", "-q", .. Secret(), "-f", "qcow2", "-o", $"{Luks},preallocation={preallocation}", .. withBacking, refused, "1M"]);
        var ours = Diskimg.Run(["create", "-q", .. Secret(), "-f", "qcow2", "-o", $"{Luks},preallocation={preallocation}", .. withBacking, refused, "1M"]);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal).Trim(), ours.StdErr.Trim());
        Assert.False(File.Exists(refused));

        var overlay = dir.File("overlay.qcow2");
        Diskimg.Ok(["create", "-q", .. Secret(), "-f", "qcow2", "-o", $"{Luks},preallocation={preallocation},extended_l2=on", .. withBacking, overlay, "1M"]);
        QemuIo(overlay, chain: true, "read -P 0x3c 0 256k", "read -P 0 256k 768k");
        AssertQemuCheckClean(overlay, chain: true);
    }
}
