using DiskImage.Interop.Tests.Conversion;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary><c>diskimg info</c> must print what <c>qemu-img info</c> prints, key for key.</summary>
public class InfoInteropTests
{
    [Theory]
    [MemberData(nameof(ConvertSources.Names), MemberType = typeof(ConvertSources))]
    public void Info_json_equals_qemu_img(string variant)
    {
        using var dir = new TempDirectory();
        var (path, format) = ConvertSources.Make(dir, variant);

        var ours = Diskimg.Ok("info", "--output=json", "-f", format, path);

        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", "-f", format, path), ours);
    }

    [Theory]
    [InlineData("chain")]
    [InlineData("overlay-larger")]
    public void Backing_chain_json_and_human_equal_qemu_img(string variant)
    {
        using var dir = new TempDirectory();
        var (path, _) = ConvertSources.Make(dir, variant);

        Assert.Equal(ExternalTool.QemuImg("info", "--backing-chain", "--output=json", path), Diskimg.Ok("info", "--backing-chain", "--output=json", path));
        Assert.Equal(ExternalTool.QemuImg("info", "--backing-chain", path), Diskimg.Ok("info", "--backing-chain", path));
    }

    [Theory]
    [InlineData("raw-holes")]
    [InlineData("qcow2-v2")]
    [InlineData("qcow2-zstd")]
    [InlineData("chain")]
    public void Info_human_equals_qemu_img(string variant)
    {
        using var dir = new TempDirectory();
        var (path, format) = ConvertSources.Make(dir, variant);

        Assert.Equal(ExternalTool.QemuImg("info", "-f", format, path), Diskimg.Ok("info", "-f", format, path));
    }

    [Fact]
    public void Info_lists_snapshots_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var (path, _) = ConvertSources.Make(dir, "qcow2-64k");
        ExternalTool.QemuImg("snapshot", "-c", "first", path);
        ExternalTool.QemuImg("snapshot", "-c", "second one", path);

        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", path), Diskimg.Ok("info", "--output=json", path));
        Assert.Equal(ExternalTool.QemuImg("info", path), Diskimg.Ok("info", path));
    }

    [Fact]
    public void Info_shows_a_thick_raw_image_as_fully_allocated()
    {
        using var dir = new TempDirectory();
        var path = dir.File("thick.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", "-o", "preallocation=full", path, "4M");

        var text = Diskimg.Ok("info", path);

        Assert.Contains("virtual size: 4 MiB (4194304 bytes)", text, StringComparison.Ordinal);
        Assert.Contains("disk size: 4 MiB", text, StringComparison.Ordinal);
        Assert.Equal(ExternalTool.QemuImg("info", path), text);
    }
}
