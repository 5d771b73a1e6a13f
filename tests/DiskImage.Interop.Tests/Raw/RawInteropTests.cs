using System.Text.Json;
using DiskImage.Formats;
using DiskImage.Formats.Raw;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Raw;

public class RawInteropTests
{
    [Theory]
    [InlineData("off")]
    [InlineData("falloc")]
    [InlineData("full")]
    public void Raw_preallocation_matches_qemu_img_allocation(string mode)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");
        var options = RawFormat.Instance.ParseCreateOptions(16 << 20, new Dictionary<string, string> { ["preallocation"] = mode });
        RawFormat.Instance.Create(ours, options);
        ExternalTool.QemuImg("create", "-f", "raw", "-o", "preallocation=" + mode, theirs, "16M");

        using var json = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", "-f", "raw", ours));
        Assert.Equal(16 << 20, json.RootElement.GetProperty("virtual-size").GetInt64());
        var theirActual = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", "-f", "raw", theirs)).RootElement.GetProperty("actual-size").GetInt64();
        using var image = ImageFormatRegistry.Default.Open(ours, "raw");
        var ourActual = image.GetInfo().ActualSize!.Value;
        Assert.Equal(theirActual > 1 << 20, ourActual > 1 << 20);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", ours, theirs).ExitCode);
    }
}
