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

    [Fact]
    public void Quiet_create_prints_nothing()
    {
        using var dir = new TempDirectory();

        Assert.Equal("", Diskimg.Ok("create", "-q", "-f", "raw", dir.File("q.raw"), "1M"));
        Assert.Equal(1 << 20, new FileInfo(dir.File("q.raw")).Length);
    }
}
