using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Operations.Map;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Operations.Map;

/// <summary>The host-file layout of qcow2 images (data, metadata, free clusters), from the format's own rules.</summary>
public class HostFileMapTests
{
    private const int Cluster = 64 << 10;

    [Fact]
    public void A_fresh_image_with_one_l2_table_has_five_metadata_clusters_and_its_data()
    {
        using var dir = new TempDirectory();
        var path = dir.File("vm.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 64L << 20 });
        using (var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false }))
        {
            image.Write(0, new byte[3 * Cluster]);
            image.Write(40L << 20, new byte[4096]);
        }

        using var reopened = ImageFormatRegistry.Default.Open(path, "qcow2");
        var host = HostFileMap.Build(reopened)!;

        // Header, refcount table, one refcount block, L1 and the single L2 table (64 MiB fits one L2 of 8192 entries).
        Assert.Equal(5L * Cluster, host.Total(HostFileCategory.Metadata));
        Assert.Equal(4L * Cluster, host.Total(HostFileCategory.Data));
        Assert.Equal(0, host.Total(HostFileCategory.Free));
        Assert.Equal(new FileInfo(path).Length, host.Length);
        Assert.Equal(HostFileCategory.Metadata, host.Dominant(0));
        Assert.Null(HostFileMap.Build(new RawLikeImage()));
    }

    [Fact]
    public void A_discarded_cluster_is_free_and_the_map_carries_the_host_layout()
    {
        using var dir = new TempDirectory();
        var path = dir.File("vm.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 64L << 20 });
        using (var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false }))
        {
            image.Write(0, new byte[4 * Cluster]);
            image.Discard(Cluster, Cluster);
        }

        using var reopened = ImageFormatRegistry.Default.Open(path, "qcow2");
        var map = AllocationMap.Build(reopened);
        var host = map.HostFile!;
        Assert.Equal(3L * Cluster, host.Total(HostFileCategory.Data));
        Assert.Equal(host.Length, host.Total(HostFileCategory.Data) + host.Total(HostFileCategory.Metadata) + host.Total(HostFileCategory.Free));
        Assert.True(host.Total(HostFileCategory.Free) >= Cluster, $"free {host.Total(HostFileCategory.Free)}");
    }

    [Fact]
    public void The_cluster_set_returns_distinct_clusters_in_order_and_clips_to_the_file()
    {
        var set = new Qcow2ClusterSet(16, clusterLimit: 10);
        for (var i = 0; i < 200_000; i++)
        {
            set.AddRange(3L << 16, 1); // one cluster pointed at over and over, as a crafted table can
        }

        set.AddRange(8L << 16, 5L << 16); // runs past the file: clusters 8 and 9 only
        set.AddRange(-1, 100);
        set.AddRange(1L << 16, 0);
        set.AddRange((2L << 16) + 100, 1L << 16); // straddles clusters 2 and 3
        Assert.Equal([2L, 3L, 8L, 9L], set.Sorted());
    }

    /// <summary>Not a qcow2: no host layout to describe.</summary>
    private sealed class RawLikeImage : IDiskImage
    {
        public IImageFormat Format => DiskImage.Formats.Raw.RawFormat.Instance;
        public string FilePath => "raw.img";
        public IDiskImage? Backing => null;
        public long Length => 1 << 20;
        public bool CanWrite => false;
        public ImageInfo GetInfo() => new() { Filename = FilePath, Format = "raw", VirtualSize = Length };
        public void Read(long offset, Span<byte> buffer) => buffer.Clear();
        public void Write(long offset, ReadOnlySpan<byte> data) => throw new NotSupportedException();
        public void WriteZeroes(long offset, long length, bool mayUnmap) => throw new NotSupportedException();
        public void Discard(long offset, long length) => throw new NotSupportedException();
        public void Flush() { }
        public void Dispose() { }
        public IReadOnlyList<DiskImage.IO.Extent> GetExtents(long offset, long count) => [new(offset, count, DiskImage.IO.ExtentKind.Data)];
    }
}
