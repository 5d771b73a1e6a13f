using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary><c>diskimg create</c> prints qemu-img's line and makes what qemu-img makes.</summary>
public class CreateInteropTests
{
    [Theory]
    [InlineData("10M")]
    [InlineData("1G")]
    [InlineData("1T")]
    [InlineData("123456")]
    [InlineData("1.5M")]
    public void Create_raw_matches_qemu_img(string size)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");

        var printed = Diskimg.Ok("create", "-f", "raw", ours, size);

        var expected = ExternalTool.QemuImg("create", "-f", "raw", theirs, size);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), printed);
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", ours));
        Assert.Equal("raw", info.RootElement.GetProperty("format").GetString());
    }

    [Theory]
    [InlineData("preallocation=falloc")]
    [InlineData("preallocation=full")]
    [InlineData("preallocation=off")]
    public void Create_raw_with_options_prints_them_as_qemu_img(string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");

        var printed = Diskimg.Ok("create", "-f", "raw", "-o", options, ours, "2M");

        Assert.Equal(ExternalTool.QemuImg("create", "-f", "raw", "-o", options, theirs, "2M").Replace(theirs, ours, StringComparison.Ordinal), printed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("cluster_size=4k,compression_type=zstd")]
    [InlineData("compat=0.10")]
    [InlineData("lazy_refcounts=on,refcount_bits=8")]
    [InlineData("preallocation=metadata")]
    [InlineData("extended_l2=on")]
    public void Create_qcow2_prints_and_makes_what_qemu_img_does(string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        string[] optionArguments = options.Length > 0 ? ["-o", options] : [];

        var printed = Diskimg.Ok(["create", "-f", "qcow2", .. optionArguments, ours, "64M"]);

        var expected = ExternalTool.QemuImg(["create", "-f", "qcow2", .. optionArguments, theirs, "64M"]);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), printed);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(
            ExternalTool.QemuImg("info", "--output=json", theirs).Replace(theirs, "X", StringComparison.Ordinal),
            ExternalTool.QemuImg("info", "--output=json", ours).Replace(ours, "X", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_qcow2_overlay_takes_the_backing_size()
    {
        using var dir = new TempDirectory();
        var backing = dir.File("base.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", backing, "5M");
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");

        var printed = Diskimg.Ok("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", ours);

        var expected = ExternalTool.QemuImg("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", theirs);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), printed);
        Assert.Equal(ExternalTool.QemuImg("info", theirs).Replace(theirs, "X", StringComparison.Ordinal).Split('\n').Where(l => !l.StartsWith("disk size", StringComparison.Ordinal)),
            ExternalTool.QemuImg("info", ours).Replace(ours, "X", StringComparison.Ordinal).Split('\n').Where(l => !l.StartsWith("disk size", StringComparison.Ordinal)));
    }

    [Fact]
    public void Quiet_create_prints_nothing()
    {
        using var dir = new TempDirectory();

        Assert.Equal("", Diskimg.Ok("create", "-q", "-f", "raw", dir.File("q.raw"), "1M"));
        Assert.Equal(1 << 20, new FileInfo(dir.File("q.raw")).Length);
    }
}
