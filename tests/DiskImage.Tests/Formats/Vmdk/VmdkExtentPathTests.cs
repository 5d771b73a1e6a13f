using DiskImage.Formats;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Vmdk;

/// <summary>Extent files outside the descriptor's directory: refused unless the caller trusts the descriptor.</summary>
public class VmdkExtentPathTests
{
    [Theory]
    [InlineData("../outside.raw")]
    [InlineData("sub/../../outside.raw")]
    [InlineData(null)] // the absolute path of the outside file
    public void Outside_extents_are_refused_by_default_and_read_when_trusted(string? extentName)
    {
        using var dir = new TempDirectory();
        var (descriptor, data) = Layout(dir, extentName);

        var refused = Assert.Throws<InvalidImageException>(() => ImageFormatRegistry.Default.Open(descriptor, "vmdk"));
        Assert.Contains("outside the directory", refused.Message, StringComparison.Ordinal);

        using var image = ImageFormatRegistry.Default.Open(descriptor, "vmdk", new ImageOpenOptions { TrustExtentPaths = true });
        var back = new byte[data.Length];
        image.Read(0, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public void The_block_option_trusts_a_vmdk_and_is_refused_for_other_formats()
    {
        using var dir = new TempDirectory();
        var (descriptor, data) = Layout(dir, "../outside.raw");
        var name = $"json:{{\"driver\":\"vmdk\",\"trust-extent-paths\":\"on\",\"file\":{{\"driver\":\"file\",\"filename\":\"{descriptor}\"}}}}";
        using (var image = ImageFormatRegistry.Default.Open(name, null))
        {
            var back = new byte[data.Length];
            image.Read(0, back);
            Assert.Equal(data, back);
        }

        var off = name.Replace("\"on\"", "\"off\"", StringComparison.Ordinal);
        Assert.Throws<InvalidImageException>(() => ImageFormatRegistry.Default.Open(off, null));

        var raw = $"json:{{\"driver\":\"raw\",\"trust-extent-paths\":\"on\",\"file\":{{\"driver\":\"file\",\"filename\":\"{dir.File("outside.raw")}\"}}}}";
        var wrongFormat = Assert.Throws<InvalidOptionException>(() => ImageFormatRegistry.Default.Open(raw, null));
        Assert.EndsWith("Block format 'raw' does not support the option 'trust-extent-paths'", wrongFormat.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trust_is_not_passed_to_backing_files() =>
        Assert.False(new ImageOpenOptions { TrustExtentPaths = true }.ForBacking().TrustExtentPaths);

    /// <summary>A monolithicFlat descriptor in <c>images/</c> whose 1 MiB extent lies one directory up.</summary>
    private static (string Descriptor, byte[] Data) Layout(TempDirectory dir, string? extentName)
    {
        var inner = Directory.CreateDirectory(dir.File("images")).FullName;
        var data = new byte[1 << 20];
        new Random(3).NextBytes(data);
        File.WriteAllBytes(dir.File("outside.raw"), data);
        Directory.CreateDirectory(Path.Combine(inner, "sub"));
        var descriptor = Path.Combine(inner, "disk.vmdk");
        File.WriteAllText(descriptor, $"# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 2048 FLAT \"{extentName ?? dir.File("outside.raw")}\" 0\n");
        return (descriptor, data);
    }
}
