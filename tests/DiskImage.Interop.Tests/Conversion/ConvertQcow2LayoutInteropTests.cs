using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Conversion;

/// <summary>
/// The workers write a new qcow2 target's chunks in target order, so its host clusters follow guest order: over many
/// chunks, data and holes, a backing chain and several worker counts, the target's map (host offsets included) must
/// be qemu-img's for the same command, the content identical and <c>qemu-img check</c> clean.
/// </summary>
public class ConvertQcow2LayoutInteropTests
{
    /// <summary>A 3-deep chain over 40 MiB (20 copy chunks): data in every layer, holes, zero clusters, a partial cluster.</summary>
    private static string ChainSource(TempDirectory dir)
    {
        var baseImage = dir.File("base.qcow2");
        var mid = dir.File("mid.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", baseImage, "40M");
        ExternalTool.QemuIo("-c", "write -P 0x11 0 9M", "-c", "write -P 0x12 12M 5M", "-c", "write -P 0x13 30M 700k", baseImage);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", mid, "40M");
        ExternalTool.QemuIo("-c", "write -P 0x21 1M 3M", "-c", "write -z 14M 1M", "-c", "write -P 0x22 20M 4100k", "-c", "write -P 0 25M 2M", mid);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top, "40M");
        ExternalTool.QemuIo("-c", "write -P 0x31 3M 6M", "-c", "write -P 0x32 33M 65k", "-c", "write -P 0x33 39M 1M", "-c", "write 0 512", top);
        return top;
    }

    private static string Map(string image) => ExternalTool.QemuImg("map", "--output=json", image);

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    [InlineData("8")]
    public void Chain_flattened_to_qcow2_has_qemu_imgs_layout(string workers)
    {
        using var dir = new TempDirectory();
        var source = ChainSource(dir);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("convert", "-O", "qcow2", source, theirs);
        Diskimg.Ok("convert", "-m", workers, "-O", "qcow2", source, ours);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", source, ours).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(Map(theirs), Map(ours));
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
    }

    [Theory]
    [InlineData("cluster_size=4k")]
    [InlineData("cluster_size=2M")]
    [InlineData("cluster_size=64k,refcount_bits=1")]
    [InlineData("extended_l2=on")]
    [InlineData("extended_l2=on,cluster_size=128k")]
    public void Raw_to_qcow2_has_qemu_imgs_layout(string options)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var data = new byte[24 << 20];
        var random = new Random(12);
        for (var offset = 0; offset < data.Length; offset += 1 << 16)
        {
            // Runs of data and zeroes of varied lengths, not aligned to the copy's 2 MiB chunks.
            if (random.Next(3) != 0)
            {
                random.NextBytes(data.AsSpan(offset, Math.Min(data.Length - offset, (random.Next(1, 8) << 12) + 512)));
            }
        }

        File.WriteAllBytes(source, data);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", "-o", options, source, theirs);
        Diskimg.Ok("convert", "-f", "raw", "-O", "qcow2", "-o", options, source, ours);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", source, ours).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(Map(theirs), Map(ours));
    }
}
