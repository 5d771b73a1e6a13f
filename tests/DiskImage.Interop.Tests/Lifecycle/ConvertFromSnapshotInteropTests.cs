using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary><c>convert -l</c> reads an internal snapshot; its output must equal qemu-img's for the same selector.</summary>
public class ConvertFromSnapshotInteropTests
{
    [Theory]
    [InlineData("snapshot.name=first")]
    [InlineData("snapshot.id=2")]
    [InlineData("first")]
    public void Convert_from_a_snapshot_equals_qemu_img(string selector)
    {
        using var dir = new TempDirectory();
        var image = dir.File("snaps.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "8M");
        ExternalTool.QemuIo("-c", "write -P 0x11 0 1M", image);
        ExternalTool.QemuImg("snapshot", "-c", "first", image);
        ExternalTool.QemuIo("-c", "write -P 0x22 512k 1M", image);
        ExternalTool.QemuImg("snapshot", "-c", "second", image);
        ExternalTool.QemuIo("-c", "write -P 0x33 0 4M", image);

        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");
        ExternalTool.QemuImg("convert", "-l", selector, "-O", "raw", image, theirs);
        Diskimg.Ok("convert", "-l", selector, "-O", "raw", image, ours);

        Assert.True(File.ReadAllBytes(theirs).AsSpan().SequenceEqual(File.ReadAllBytes(ours)));
        Assert.NotEqual(0x33, File.ReadAllBytes(ours)[0]);
    }

    [Fact]
    public void A_missing_snapshot_is_one_clean_error()
    {
        using var dir = new TempDirectory();
        var image = dir.File("plain.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "1M");
        var result = Diskimg.Run("convert", "-l", "snapshot.name=nope", "-O", "raw", image, dir.File("out.raw"));
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(dir.File("out.raw")));
    }
}
