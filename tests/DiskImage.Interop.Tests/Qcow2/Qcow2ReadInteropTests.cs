using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>Images made by qemu-img and qemu-io must read bit-identically to qemu-img convert, and info must agree.</summary>
public class Qcow2ReadInteropTests
{
    public static TheoryData<int> ClusterSizes => new() { 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152 };

    [Theory]
    [MemberData(nameof(ClusterSizes))]
    public void Every_cluster_size_reads_like_qemu(int clusterSize)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        var size = 8L << 20;
        Qcow2Oracle.Create(path, size.ToString(System.Globalization.CultureInfo.InvariantCulture), $"cluster_size={clusterSize}");
        Qcow2Oracle.Io(path, Qcow2Oracle.ScatteredWrites(size));
        Qcow2Oracle.AssertSameContent(path);
        Qcow2Oracle.AssertInfoMatches(path);
    }

    [Theory]
    [InlineData("compat=0.10")]
    [InlineData("refcount_bits=1")]
    [InlineData("refcount_bits=64")]
    [InlineData("refcount_bits=1,cluster_size=512")]
    [InlineData("lazy_refcounts=on")]
    [InlineData("preallocation=metadata")]
    [InlineData("preallocation=full")]
    [InlineData("extended_l2=on")]
    [InlineData("extended_l2=on,cluster_size=16k")]
    [InlineData("extended_l2=on,cluster_size=2M")]
    public void Variants_read_like_qemu(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "6M", options);
        Qcow2Oracle.Io(path, Qcow2Oracle.ScatteredWrites(6L << 20));
        Qcow2Oracle.Io(path, "discard 2M 128k", "write -P 0x66 2100k 3k", "write -z 4M 100k", "write -z -u 5M 512k");
        Qcow2Oracle.AssertSameContent(path);
        Qcow2Oracle.AssertInfoMatches(path);
    }

    [Fact]
    public void Extended_l2_subclusters_read_like_qemu_and_report_subcluster_extents()
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "4M", "extended_l2=on,cluster_size=64k");
        // 64 KiB clusters have 2 KiB subclusters.
        Qcow2Oracle.Io(path, "write -P 0x71 2k 2k", "write -P 0x72 10k 1k", "write -z 64k 4k", "write -P 0x73 70k 6k", "write -z 72k 2k");
        Qcow2Oracle.AssertSameContent(path);
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2");
        var extents = image.GetExtents(0, 128 * 1024);
        Assert.Equal(new Extent(0, 2048, ExtentKind.Unallocated), extents[0]);
        Assert.Equal(new Extent(2048, 2048, ExtentKind.Data), extents[1]);
        Assert.Contains(new Extent(65536, 4096, ExtentKind.Zero), extents);
    }

    [Theory]
    [InlineData("zlib")]
    [InlineData("zstd")]
    public void Compressed_images_read_like_qemu(string compression)
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        File.WriteAllBytes(raw, CompressibleContent(6 << 20));
        var path = dir.File("image.qcow2");
        ExternalTool.QemuImg("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", $"compression_type={compression}", raw, path);
        Qcow2Oracle.AssertSameContent(path);
        Assert.Equal(File.ReadAllBytes(raw), Qcow2Oracle.OurContent(path));
        Qcow2Oracle.AssertInfoMatches(path);

        // Partly rewritten: data and zeroes over compressed clusters.
        Qcow2Oracle.Io(path, "write -P 0x5a 100k 10k", "write -z 1M 64k", "write -P 0x5b 3M 200k", "discard 4M 128k");
        Qcow2Oracle.AssertSameContent(path);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    [InlineData(2097152)]
    public void Compressed_images_with_small_and_huge_clusters_read_like_qemu(int clusterSize)
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        File.WriteAllBytes(raw, CompressibleContent(4 << 20));
        var path = dir.File("image.qcow2");
        ExternalTool.QemuImg("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", $"cluster_size={clusterSize}", raw, path);
        Assert.Equal(File.ReadAllBytes(raw), Qcow2Oracle.OurContent(path));
    }

    [Fact]
    public void Backing_chains_read_through_every_layer()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.raw");
        var content = CompressibleContent(3 << 20);
        File.WriteAllBytes(basePath, content);
        var middle = dir.File("middle.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", middle, "4M");
        Qcow2Oracle.Io(middle, "write -P 0x21 1M 100k", "write -z 2M 64k", "write -P 0x22 3900k 100k");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "middle.qcow2", "-F", "qcow2", "-o", "cluster_size=4k", top, "6M");
        Qcow2Oracle.Io(top, "write -P 0x31 1050k 10k", "write -z 0 4k", "discard 2000k 64k", "write -P 0x32 5M 4k");
        Qcow2Oracle.AssertSameContent(top);
        Qcow2Oracle.AssertInfoMatches(top);
        using var image = ImageFormatRegistry.Default.Open(top, null);
        Assert.Equal(6L << 20, image.Length);
        Assert.NotNull(image.Backing);
        Assert.NotNull(image.Backing!.Backing);
        Assert.Equal("raw", image.Backing.Backing!.Format.Name);
    }

    [Fact]
    public void Info_does_not_open_the_backing_file()
    {
        using var dir = new TempDirectory();
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "missing.qcow2", "-F", "qcow2", top, "1M");
        using var image = ImageFormatRegistry.Default.Open(top, "qcow2", new ImageOpenOptions { OpenBackingChain = false });
        Assert.Equal("missing.qcow2", image.GetInfo().BackingFilename);
        Assert.Throws<ImageAccessException>(() => ImageFormatRegistry.Default.Open(top, "qcow2").Dispose());
        Assert.Throws<UnsupportedFeatureException>(() => ImageFormatRegistry.Default.Open(top, "qcow2", new ImageOpenOptions { Untrusted = true, OpenBackingChain = false }).Dispose());
    }

    [Fact]
    public void Backing_chain_loops_are_refused()
    {
        using var dir = new TempDirectory();
        var a = dir.File("a.qcow2");
        var b = dir.File("b.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "b.qcow2", "-F", "qcow2", a, "1M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-u", "-b", "a.qcow2", "-F", "qcow2", b, "1M");
        var error = Assert.Throws<InvalidImageException>(() => ImageFormatRegistry.Default.Open(a, null).Dispose());
        Assert.Contains("loops", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Internal_snapshots_are_listed_and_the_active_state_reads_like_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "4M");
        Qcow2Oracle.Io(path, "write -P 0x41 0 1M");
        ExternalTool.QemuImg("snapshot", "-c", "first", path);
        Qcow2Oracle.Io(path, "write -P 0x42 512k 1M");
        ExternalTool.QemuImg("snapshot", "-c", "second snapshot", path);
        Qcow2Oracle.Io(path, "write -z 0 64k", "write -P 0x43 3M 4k");
        Qcow2Oracle.AssertSameContent(path);
        Qcow2Oracle.AssertInfoMatches(path);
    }

    /// <summary>Random blocks, each repeated far apart (20 KiB), plus zero runs and text-like runs.</summary>
    internal static byte[] CompressibleContent(int size)
    {
        var random = new Random(1234);
        var content = new byte[size];
        var block = new byte[20 * 1024];
        for (var offset = 0; offset < size; offset += 256 * 1024)
        {
            random.NextBytes(block);
            for (var copy = 0; copy < 4 && offset + ((copy + 1) * block.Length) <= size; copy++)
            {
                block.CopyTo(content, offset + (copy * block.Length));
            }

            var text = System.Text.Encoding.ASCII.GetBytes($"sector {offset} of the test image; ");
            for (var p = offset + (100 * 1024); p + text.Length < Math.Min(size, offset + (180 * 1024)); p += text.Length)
            {
                text.CopyTo(content, p);
            }

            if (offset % (1 << 20) == 0 && offset + (200 * 1024) < size)
            {
                random.NextBytes(content.AsSpan(offset + (190 * 1024), 60 * 1024));
            }
        }

        return content;
    }
}
