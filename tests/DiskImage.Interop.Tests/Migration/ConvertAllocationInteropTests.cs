using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>
/// convert into the migration formats takes no more host space than qemu-img's conversion of the same source:
/// a block only partly holding data must not have its zeroes written where the format leaves them as holes.
/// </summary>
public class ConvertAllocationInteropTests
{
    [Theory]
    [InlineData("vhdx", "subformat=dynamic")]
    [InlineData("vpc", "subformat=dynamic")]
    [InlineData("vdi", "static=off")]
    public void Allocated_size_is_within_5_percent_of_qemu_img_s(string format, string options)
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.raw");
        WriteSparseSource(source);
        var theirs = dir.File("theirs." + format);
        var ours = dir.File("ours." + format);
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", format, "-o", options, source, theirs);
        Diskimg.Ok("convert", "-f", "raw", "-O", format, "-o", options, source, ours);

        MigrationInterop.AssertSameContent(source, "raw", ours, format);
        var theirSize = ActualSize(theirs, format);
        var ourSize = ActualSize(ours, format);
        Assert.True(theirSize > 4 << 20, $"qemu-img's image holds only {theirSize} bytes; the source has more data");
        Assert.True(ourSize <= theirSize * 105 / 100, $"diskimg's {format} takes {ourSize} bytes, qemu-img's {theirSize}");
    }

    /// <summary>
    /// 64 MiB, every MiB holding 64 KiB of data at a varying place (so every block of every format is partly
    /// data, partly zero), plus one fully written 4 MiB run.
    /// </summary>
    private static void WriteSparseSource(string path)
    {
        var random = new Random(17);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        file.SetLength(64 << 20);
        var chunk = new byte[64 << 10];
        for (var mib = 0; mib < 64; mib++)
        {
            random.NextBytes(chunk);
            file.Position = ((long)mib << 20) + (random.Next(16) * (chunk.Length - 4096) / 15 / 4096 * 4096);
            file.Write(chunk);
        }

        var run = new byte[4 << 20];
        random.NextBytes(run);
        file.Position = 40 << 20;
        file.Write(run);
    }

    private static long ActualSize(string path, string format) =>
        JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", "-f", format, path)).RootElement.GetProperty("actual-size").GetInt64();
}
