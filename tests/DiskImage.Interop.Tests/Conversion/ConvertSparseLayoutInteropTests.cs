using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Conversion;

/// <summary>
/// What convert leaves allocated, compared with qemu-img 7.2 running the same command line on the same source:
/// <c>-S</c> sizes larger than the target's cluster, <c>-c -S 0</c>, the first block of a new raw file, and
/// targets that are device nodes.
/// </summary>
public class ConvertSparseLayoutInteropTests
{
    /// <summary>A 1 KiB-cluster image with data runs of one cluster separated by zeroes, some allocated, some not.</summary>
    private static string SmallClusterSource(TempDirectory dir)
    {
        var source = dir.File("source.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=1k", source, "64M");
        ExternalTool.QemuIo("-c", "write -P 0 0 64k", "-c", "write 0 1k", "-c", "write 8k 1k", "-c", "write 17k 1k",
            "-c", "write -P 0 65k 1k", "-c", "write 130k 3k", "-c", "write 140k 512", source);
        return source;
    }

    private static string Map(string image) => ExternalTool.QemuImg("map", "--output=json", image);

    /// <summary>Runs the same convert arguments with both tools (target last) and returns both targets' maps.</summary>
    private static (string Theirs, string Ours) ConvertBoth(TempDirectory dir, string[] arguments, string source, string format = "qcow2")
    {
        var theirs = dir.File($"theirs.{format}");
        var ours = dir.File($"ours.{format}");
        ExternalTool.QemuImg([.. arguments, source, theirs]);
        Diskimg.Ok([.. arguments, source, ours]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", source, ours).ExitCode);
        return (Map(theirs), Map(ours));
    }

    [Theory]
    [InlineData("4k")]
    [InlineData("8k")]
    [InlineData("6k")]
    [InlineData("32k")]
    public void Sparse_size_above_the_cluster_aligns_data_runs_as_qemu_img(string minSparse)
    {
        using var dir = new TempDirectory();
        var source = SmallClusterSource(dir);
        var (theirs, ours) = ConvertBoth(dir, ["convert", "-O", "qcow2", "-o", "cluster_size=1k", "-S", minSparse], source);
        Assert.Equal(theirs, ours);
    }

    [Theory]
    [InlineData("64k")]
    [InlineData("1M")]
    public void Sparse_size_above_a_raw_targets_block_aligns_data_runs_as_qemu_img(string minSparse)
    {
        using var dir = new TempDirectory();
        var source = SmallClusterSource(dir);
        var (theirs, ours) = ConvertBoth(dir, ["convert", "-O", "raw", "-S", minSparse], source, "raw");
        Assert.Equal(theirs, ours);
    }

    [Theory]
    [InlineData("4k")]
    [InlineData("8k")]
    [InlineData("0")]
    public void Compressed_convert_allocates_as_qemu_img(string minSparse)
    {
        using var dir = new TempDirectory();
        var source = SmallClusterSource(dir);
        var (theirs, ours) = ConvertBoth(dir, ["convert", "-O", "qcow2", "-o", "cluster_size=1k", "-c", "-S", minSparse], source);
        Assert.Equal(theirs, ours);
    }

    /// <summary><c>-c -S 0</c> compresses the clusters that read as zero too, with and without the target's backing file.</summary>
    [Fact]
    public void Compressed_full_allocation_compresses_zero_clusters_as_qemu_img()
    {
        using var dir = new TempDirectory();
        var baseImage = dir.File("base.qcow2");
        var source = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", baseImage, "16M");
        ExternalTool.QemuIo("-c", "write -P 0x11 0 8M", baseImage);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", source, "16M");
        ExternalTool.QemuIo("-c", "write -P 0x22 0 3M", "-c", "write -z 5M 1M", source);

        var (theirs, ours) = ConvertBoth(dir, ["convert", "-O", "qcow2", "-c", "-S", "0"], source);
        Assert.Equal(theirs, ours);
        Assert.DoesNotContain("\"data\": false", ours, StringComparison.Ordinal);
    }

    /// <summary>QEMU's file driver writes the first block of a file it grows from empty (alignment probing).</summary>
    [Fact]
    public void New_raw_image_has_its_first_block_allocated_as_qemu_img_leaves_it()
    {
        using var dir = new TempDirectory();
        var results = new List<string>();
        foreach (var tool in new[] { "qemu-img", "diskimg" })
        {
            string[][] steps =
            [
                ["create", "-q", "-f", "raw", dir.File($"{tool}.1M"), "1M"],
                ["create", "-q", "-f", "raw", dir.File($"{tool}.1k"), "1k"],
                ["create", "-q", "-f", "raw", dir.File($"{tool}.0"), "0"],
                ["resize", "-q", "-f", "raw", dir.File($"{tool}.0"), "2M"],
                ["convert", "-S", "512", "-O", "raw", Zeroes(dir), dir.File($"{tool}.conv")],
            ];
            foreach (var step in steps)
            {
                var result = tool == "qemu-img" ? ExternalTool.Run("qemu-img", step) : Diskimg.Run(step);
                Assert.Equal(0, result.ExitCode);
            }

            results.Add(string.Join('\n', new[] { "1M", "1k", "0", "conv" }.Select(n => Map(dir.File($"{tool}.{n}")))));
        }

        Assert.Contains("\"data\": true", results[0], StringComparison.Ordinal);
        Assert.Equal(results[0], results[1]);
    }

    private static string Zeroes(TempDirectory dir)
    {
        var path = dir.File("zeroes.qcow2");
        if (!File.Exists(path))
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", path, "1M");
        }

        return path;
    }

    /// <summary>
    /// A character device named as the target: qemu-img's errors (a device is not grown, nor resized), and the node
    /// survives every failure (it is never unlinked like a half-made file).
    /// </summary>
    [Fact]
    public void Device_targets_are_refused_in_qemu_img_words_and_never_removed()
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "1M");
        var device = dir.File("nulldev");
        string[][] commands =
        [
            ["convert", "-O", "raw", source, device],
            ["convert", "-O", "qcow2", source, device],
            ["create", "-f", "raw", device, "1M"],
            ["create", "-f", "raw", device, "0"],
            ["create", "-f", "raw", "-o", "preallocation=falloc", device, "0"],
            ["create", "-f", "qcow2", device, "1M"],
            ["resize", "-f", "raw", device, "1M"],
            ["convert", "-n", "-O", "raw", source, device],
        ];
        foreach (var command in commands)
        {
            var outputs = new List<string>();
            foreach (var tool in new[] { "qemu-img", "diskimg" })
            {
                File.Delete(device);
                ExternalTool.Run("mknod", device, "c", "1", "3").EnsureSuccess("mknod");
                var result = tool == "qemu-img" ? ExternalTool.Run("qemu-img", command) : Diskimg.Run(command);
                Assert.True(IsCharacterDevice(device), $"{tool} {string.Join(' ', command)} removed the device node");
                outputs.Add($"{result.ExitCode}\n{result.StdOut}{result.StdErr.Replace("diskimg: ", "qemu-img: ", StringComparison.Ordinal)}");
            }

            Assert.Equal(outputs[0], outputs[1]);
        }
    }

    private static bool IsCharacterDevice(string path) =>
        ExternalTool.Run("stat", "-c", "%F", path).StdOut.Trim() == "character special file";
}
