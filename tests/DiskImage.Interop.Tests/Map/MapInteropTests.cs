using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;

namespace DiskImage.Interop.Tests.Map;

/// <summary><c>diskimg map</c> must describe every image exactly as <c>qemu-img map</c> 7.2 does.</summary>
public class MapInteropTests
{
    [Theory]
    [InlineData("")]
    [InlineData("cluster_size=512")]
    [InlineData("compat=0.10")]
    [InlineData("extended_l2=on")]
    [InlineData("extended_l2=on,cluster_size=16k")]
    [InlineData("preallocation=metadata")]
    [InlineData("preallocation=falloc")]
    [InlineData("preallocation=full")]
    [InlineData("refcount_bits=1")]
    public void Qcow2_variants_map_like_qemu(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "4M", options);
        Qcow2Oracle.Io(path, "write -P 1 0 3k", "write -P 2 70k 6k", "write -z 200k 8k", "write -P 5 300k 64k", "write -z 310k 4k",
            "discard 320k 4k", "write -z -u 1M 128k", "write -P 3 2M 1M");
        if (!options.StartsWith("preallocation", StringComparison.Ordinal))
        {
            // Compressed writes need a cluster that has no host cluster yet.
            Qcow2Oracle.Io(path, "write -c -P 4 3M 64k");
        }

        AssertSameMap(path);
        AssertSameMap(path, "--start-offset=70000", "--max-length=900000");
        AssertSameMap(path, "--start-offset=3M");
        AssertSameHumanMap(path);
    }

    [Fact]
    public void Snapshots_and_zero_clusters_map_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "4M");
        Qcow2Oracle.Io(path, "write -P 1 0 1M");
        ExternalTool.QemuImg("snapshot", "-c", "s1", path);
        Qcow2Oracle.Io(path, "write -P 2 128k 64k", "write -z 512k 64k", "discard 768k 64k", "write -z 2M 64k");
        AssertSameMap(path);
        AssertSameHumanMap(path);
    }

    [Fact]
    public void Compressed_clusters_map_like_qemu_and_refuse_the_human_layout()
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.qcow2");
        var path = dir.File("compressed.qcow2");
        Qcow2Oracle.Create(source, "2M");
        Qcow2Oracle.Io(source, "write -P 1 0 1M", "write -P 2 1536k 64k");
        ExternalTool.QemuImg("convert", "-c", "-O", "qcow2", source, path);
        AssertSameMap(path);
        var ours = Diskimg.Run("map", path);
        Assert.Equal(1, ExternalTool.Run("qemu-img", "map", path).ExitCode);
        Assert.Equal(1, ours.ExitCode);
        Assert.Contains("File contains external, encrypted or compressed clusters.", ours.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Backing_chains_with_larger_overlays_map_like_qemu()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("base.raw");
        var middle = dir.File("middle.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", raw, "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 7 64k 64k", raw);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", raw, "-F", "raw", middle, "3M");
        Qcow2Oracle.Io(middle, "write -P 1 512k 64k", "write -c -P 2 2M 64k", "write -z 640k 64k");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", middle, "-F", "qcow2", top, "6M");
        Qcow2Oracle.Io(top, "write -P 9 4k 4k", "write -P 8 4M 64k", "write -z 70k 4k");
        AssertSameMap(top);
        AssertSameMap(top, "--start-offset=4096", "--max-length=3000000");
        AssertSameMap(middle);
    }

    [Fact]
    public void Raw_files_with_holes_map_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        using (var file = File.Create(path))
        {
            file.SetLength(4L << 20);
            file.Position = 12288;
            file.Write(new byte[4096].AsSpan().ToArray().Select(_ => (byte)0x5a).ToArray());
            file.Position = 2L << 20;
            file.Write(Enumerable.Repeat((byte)1, 70000).ToArray());
        }

        AssertSameMap(path, "-f", "raw");
        AssertSameMap(path, "-f", "raw", "--start-offset=5000", "--max-length=70000");
        AssertSameHumanMap(path);
    }

    private static void AssertSameMap(string path, params string[] options)
    {
        string[] arguments = ["map", "--output=json", .. options, path];
        var expected = ExternalTool.QemuImg(arguments);
        var actual = Diskimg.Ok(arguments);
        Assert.Equal(Parse(expected), Parse(actual));
        Assert.Equal(expected, actual);
    }

    private static void AssertSameHumanMap(string path)
    {
        var expected = ExternalTool.Run("qemu-img", "map", path);
        var actual = Diskimg.Run("map", path);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut, actual.StdOut);
    }

    private static List<string> Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(entry => string.Join(",", entry.EnumerateObject().Select(p => $"{p.Name}={p.Value}"))).ToList();
    }
}
