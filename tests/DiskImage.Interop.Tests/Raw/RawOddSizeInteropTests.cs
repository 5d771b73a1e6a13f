using System.Text.Json.Nodes;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Raw;

/// <summary>
/// Raw files whose size is not a whole number of 512-byte sectors: qemu-img sees them rounded up to the next
/// sector (the tail reads as zeros), and every verb must agree with it.
/// </summary>
public class RawOddSizeInteropTests
{
    [Theory]
    [InlineData(1000, false)]
    [InlineData((1 << 20) + 7, false)]
    [InlineData((3 << 20) + 300, true)]
    [InlineData(511, false)]
    public void Odd_sized_raw_files_behave_as_in_qemu_img(long size, bool sparse)
    {
        using var dir = new TempDirectory();
        var path = dir.File("odd.raw");
        using (var file = File.Create(path))
        {
            if (sparse)
            {
                file.SetLength(size);
                file.Position = 2 << 20;
                file.Write("data"u8);
            }
            else
            {
                var bytes = new byte[size];
                new Random((int)size).NextBytes(bytes);
                file.Write(bytes);
            }
        }

        foreach (var verb in new[] { new[] { "info", "--output=json" }, ["map", "--output=json"], ["map"], ["measure", "--output=json", "-O", "qcow2"] })
        {
            var expected = ExternalTool.QemuImg([.. verb, "-f", "raw", path]);
            var actual = Diskimg.Ok([.. verb, "-f", "raw", path]);
            Assert.Equal(WithoutFileFields(expected), WithoutFileFields(actual));
        }

        var theirsRaw = dir.File("theirs.raw");
        var oursRaw = dir.File("ours.raw");
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "raw", path, theirsRaw);
        Diskimg.Ok("convert", "-f", "raw", "-O", "raw", path, oursRaw);
        Assert.Equal(File.ReadAllBytes(theirsRaw), File.ReadAllBytes(oursRaw));

        var theirsQcow2 = dir.File("theirs.qcow2");
        var oursQcow2 = dir.File("ours.qcow2");
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", path, theirsQcow2);
        Diskimg.Ok("convert", "-f", "raw", "-O", "qcow2", path, oursQcow2);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirsQcow2, oursQcow2).ExitCode);
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirsQcow2), ExternalTool.QemuImg("map", "--output=json", oursQcow2));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", path, oursQcow2).ExitCode);
        Assert.Equal(0, Diskimg.Run("compare", "-f", "raw", "-F", "raw", path, theirsRaw).ExitCode);

        foreach (var resize in new[] { new[] { "+1000" }, ["--shrink", "-100"], ["1500"] })
        {
            var theirs = dir.File("theirs-resized.raw");
            var ours = dir.File("ours-resized.raw");
            File.Copy(path, theirs, overwrite: true);
            File.Copy(path, ours, overwrite: true);
            var expected = ExternalTool.Run("qemu-img", ["resize", "-f", "raw", theirs, .. resize]);
            var actual = Diskimg.Run(["resize", "-f", "raw", ours, .. resize]);
            Assert.Equal(expected.ExitCode, actual.ExitCode);
            Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        }
    }

    private static string WithoutFileFields(string output)
    {
        if (!output.TrimStart().StartsWith('{'))
        {
            return output;
        }

        var json = JsonNode.Parse(output)!.AsObject();
        json.Remove("filename");
        json.Remove("actual-size");
        return json.ToJsonString();
    }
}
