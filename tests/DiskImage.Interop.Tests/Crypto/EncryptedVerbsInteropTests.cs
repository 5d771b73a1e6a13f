using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;
using static DiskImage.Interop.Tests.Crypto.EncryptedImages;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// Every verb opens qemu-made LUKS qcow2 images with qemu-img's secret syntax (<c>--object secret</c> and
/// <c>--image-opts</c>); what it leaves behind is judged by qemu-img and qemu-io.
/// </summary>
public class EncryptedVerbsInteropTests
{
    private static readonly string[] s_patterns = ["write -P 0x11 0 64k", "write -P 0x22 70000 200k", "write -P 0x33 3M 512k"];

    private static string Filled(TempDirectory dir, string name, string size = "4M")
    {
        var path = dir.File(name);
        Create(path, size);
        QemuIo(path, s_patterns);
        return path;
    }

    [Fact]
    public void Compare_exits_as_qemu_img_does_with_object_and_image_opts()
    {
        using var dir = new TempDirectory();
        var first = Filled(dir, "first.qcow2");
        var same = dir.File("same.qcow2");
        File.Copy(first, same);
        var other = dir.File("other.qcow2");
        File.Copy(first, other);
        QemuIo(other, "write -P 0x44 1M 512");

        foreach (var (second, expected) in new[] { (same, 0), (other, 1) })
        {
            string[] args = ["compare", .. Secret(), "--image-opts", Opts(first), Opts(second)];
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            Assert.Equal(expected, theirs.ExitCode);
            Assert.True(theirs.ExitCode == ours.ExitCode, $"qemu-img {theirs.ExitCode}, ours {ours.ExitCode}: {ours.StdErr}");
            Assert.Equal(theirs.StdOut, ours.StdOut);
        }
    }

    [Fact]
    public void Snapshots_created_applied_and_deleted_keep_the_image_clean_under_qemu()
    {
        using var dir = new TempDirectory();
        var path = Filled(dir, "snap.qcow2");
        var before = QemuContent(path);

        Diskimg.Ok(["snapshot", .. Secret(), "--image-opts", "-c", "s1", Opts(path)]);
        QemuIo(path, "write -P 0x55 0 1M");
        Assert.Contains("s1", Diskimg.Ok(["snapshot", .. Secret(), "--image-opts", "-l", Opts(path)]), StringComparison.Ordinal);
        Assert.Contains("s1", ExternalTool.QemuImg(["snapshot", .. Secret(), "--image-opts", "-l", Opts(path)]), StringComparison.Ordinal);
        AssertQemuCheckClean(path);

        Diskimg.Ok(["snapshot", .. Secret(), "--image-opts", "-a", "s1", Opts(path)]);
        Assert.Equal(before, QemuContent(path));
        Diskimg.Ok(["snapshot", .. Secret(), "--image-opts", "-d", "s1", Opts(path)]);
        Assert.DoesNotContain("s1", ExternalTool.QemuImg(["snapshot", .. Secret(), "--image-opts", "-l", Opts(path)]), StringComparison.Ordinal);
        AssertQemuCheckClean(path);
        Assert.Equal(before, QemuContent(path));
    }

    [Fact]
    public void Resize_grows_an_encrypted_image_as_qemu_img_info_reports()
    {
        using var dir = new TempDirectory();
        var path = Filled(dir, "resize.qcow2");
        var before = QemuContent(path);

        Diskimg.Ok(["resize", .. Secret(), "--image-opts", Opts(path), "+4M"]);

        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", path));
        Assert.Equal(8L << 20, info.RootElement.GetProperty("virtual-size").GetInt64());
        AssertQemuCheckClean(path);
        QemuIo(path, "write -P 0x66 7M 64k", "read -P 0x66 7M 64k");
        var after = QemuContent(path);
        Assert.Equal(before, after[..before.Length]);
    }

    [Fact]
    public void Dd_of_an_encrypted_input_matches_qemu_img_dd()
    {
        using var dir = new TempDirectory();
        var path = Filled(dir, "dd.qcow2");
        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");

        ExternalTool.QemuImg(["dd", .. Secret(), "--image-opts", "bs=4k", "skip=3", "count=900", $"if={Opts(path)}", $"of={theirs}"]);
        Diskimg.Ok(["dd", .. Secret(), "--image-opts", "bs=4k", "skip=3", "count=900", $"if={Opts(path)}", $"of={ours}"]);

        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Theory]
    [InlineData("")]
    [InlineData("encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10")]
    [InlineData("encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc")]
    public void Measure_of_an_encrypted_source_equals_qemu_img_measure(string targetOptions)
    {
        using var dir = new TempDirectory();
        var path = Filled(dir, "measure.qcow2");
        string[] args = ["measure", "--output=json", .. Secret(), "-O", "qcow2", .. targetOptions.Length > 0 ? new[] { "-o", targetOptions } : [], "--image-opts", Opts(path)];

        using var theirs = JsonDocument.Parse(ExternalTool.QemuImg(args));
        using var ours = JsonDocument.Parse(Diskimg.Ok(args));

        foreach (var field in new[] { "required", "fully-allocated" })
        {
            Assert.Equal(theirs.RootElement.GetProperty(field).GetInt64(), ours.RootElement.GetProperty(field).GetInt64());
        }
    }

    [Fact]
    public void Commit_of_an_encrypted_overlay_into_an_encrypted_base_reads_the_same_under_qemu()
    {
        using var dir = new TempDirectory();
        var baseImage = Filled(dir, "base.qcow2");
        var top = dir.File("top.qcow2");
        Create(top, "4M", baseImage);
        QemuIo(top, chain: true, "write -P 0x77 60k 300k", "write -P 0x78 3500k 100k");
        var expected = QemuContent(top, chain: true);

        Diskimg.Ok(["commit", .. Secret(), "--image-opts", Opts(top, chain: true)]);

        Assert.Equal(expected, QemuContent(baseImage));
        Assert.Equal(expected, QemuContent(top, chain: true));
        AssertQemuCheckClean(baseImage);
        AssertQemuCheckClean(top, chain: true);
    }

    [Fact]
    public void Rebase_of_an_encrypted_overlay_keeps_its_content_under_qemu()
    {
        using var dir = new TempDirectory();
        var oldBase = dir.File("old.qcow2");
        var newBase = dir.File("new.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", oldBase, "4M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", newBase, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x81 0 2M", oldBase);
        ExternalTool.QemuIo("-c", "write -P 0x82 1M 2M", newBase);
        var top = dir.File("top.qcow2");
        Create(top, "4M", oldBase);
        QemuIo(top, "write -P 0x83 512k 64k");
        var expected = QemuContent(top);

        Diskimg.Ok(["rebase", .. Secret(), "--image-opts", "-b", newBase, "-F", "qcow2", Opts(top)]);

        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", top));
        Assert.Equal(newBase, info.RootElement.GetProperty("backing-filename").GetString());
        Assert.Equal(expected, QemuContent(top));
        AssertQemuCheckClean(top);
    }

    [Fact]
    public void Bench_reads_and_writes_an_encrypted_image_that_qemu_reads_back()
    {
        using var dir = new TempDirectory();
        var path = Filled(dir, "bench.qcow2");

        Assert.Contains("Run completed", Diskimg.Ok(["bench", .. Secret(), "--image-opts", "-c", "200", "-d", "4", Opts(path)]), StringComparison.Ordinal);
        Diskimg.Ok(["bench", .. Secret(), "--image-opts", "-w", "-c", "64", "-d", "4", "-o", "1M", "--pattern=0x5a", Opts(path)]);

        QemuIo(path, "read -P 0x11 0 64k", "read -P 0x5a 1M 256k", "read -P 0x33 3M 512k");
        AssertQemuCheckClean(path);
    }

    [Fact]
    public void Convert_into_an_existing_luks_target_named_by_target_image_opts()
    {
        using var dir = new TempDirectory();
        var source = Filled(dir, "source.qcow2");
        var target = dir.File("target.qcow2");
        Create(target, "4M");

        Diskimg.Ok(["convert", .. Secret(), "--image-opts", "-n", "--target-image-opts", Opts(source), Opts(target)]);

        var compare = ExternalTool.Run("qemu-img", ["compare", .. Secret(), "--image-opts", Opts(source), Opts(target)]);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
        AssertQemuCheckClean(target);

        var withoutNoCreate = Diskimg.Run(["convert", .. Secret(), "--target-image-opts", source, Opts(target)]);
        Assert.Equal(1, withoutNoCreate.ExitCode);
        Assert.Equal("diskimg: --target-image-opts requires use of -n flag", withoutNoCreate.StdErr.Trim());
    }
}
