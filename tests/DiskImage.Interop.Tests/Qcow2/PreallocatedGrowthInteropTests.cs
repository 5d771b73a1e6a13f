using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// <c>resize --preallocation=falloc|full</c> that grows a qcow2 image, compared with qemu-img 7.2 on identical images:
/// the new refcount table and the preallocated run land where QEMU puts them (file length, host offsets, header).
/// </summary>
public class PreallocatedGrowthInteropTests
{
    [Theory]
    [InlineData("cluster_size=64k,preallocation=full", "2000k", "full", "+80k")]
    [InlineData("cluster_size=64k,preallocation=falloc", "2000k", "falloc", "+16k")]
    [InlineData("cluster_size=512", "1990k", "full", "+10k")]
    [InlineData("cluster_size=64k", "31k", "full", "96k")]
    [InlineData("cluster_size=32k,extended_l2=on", "1000k", "falloc", "+3M")]
    public void Growth_with_preallocation_is_laid_out_as_qemu_img_resize_lays_it_out(string createOptions, string size, string mode, string growth)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", createOptions, theirs, size);
        ExternalTool.QemuIo("-c", "write -P 7 0 31k", theirs);
        File.Copy(theirs, ours);

        ExternalTool.QemuImg("resize", "-q", "--preallocation=" + mode, theirs, growth);
        Diskimg.Ok("resize", "-q", "--preallocation=" + mode, ours, growth);

        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        Assert.Equal(Map(theirs), Map(ours));
        Assert.Equal(File.ReadAllBytes(theirs).AsSpan(0, 104).ToArray(), File.ReadAllBytes(ours).AsSpan(0, 104).ToArray());
        Assert.Equal(ExternalTool.QemuImg("check", "--output=json", theirs).Replace(theirs, "IMG", StringComparison.Ordinal),
            ExternalTool.QemuImg("check", "--output=json", ours).Replace(ours, "IMG", StringComparison.Ordinal));
        ExternalTool.QemuImg("compare", theirs, ours);
    }

    /// <summary>Over a longer raw backing file (iotest 125's last part): the grown clusters read as zeroes and the file has seven clusters.</summary>
    [Theory]
    [InlineData("31k", "96k")]
    [InlineData("33k", "128k")]
    public void Growth_over_a_longer_backing_file_matches_qemu_img(string size, string newSize)
    {
        using var dir = new TempDirectory();
        var backing = dir.File("base.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", backing, "128k");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -q -P 1 0 128k", backing);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=64k", "-b", backing, "-F", "raw", theirs, size);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=64k", "-b", backing, "-F", "raw", ours, size);

        ExternalTool.QemuImg("resize", "-q", "--preallocation=full", theirs, newSize);
        Diskimg.Ok("resize", "-q", "--preallocation=full", ours, newSize);

        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        Assert.Equal(Map(theirs), Map(ours));
        ExternalTool.QemuImg("compare", theirs, ours);
    }

    private static List<string> Map(string image)
    {
        using var json = JsonDocument.Parse(ExternalTool.QemuImg("map", "--output=json", image));
        return [.. json.RootElement.EnumerateArray().Select(e => e.GetRawText())];
    }
}
