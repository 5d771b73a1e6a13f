using System.IO.Compression;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>
/// The per-thread raw-deflate inflater used for compressed qcow2 clusters. Expectations come from
/// <see cref="DeflateStream"/>'s own compression and from the rule QEMU applies to a compressed cluster
/// (the output must be full; bytes after the cluster's data are ignored).
/// </summary>
public class NativeInflaterTests
{
    private const int Cluster = 64 << 10;

    [Fact]
    public void The_runtime_zlib_is_reachable()
    {
        // The entry points are looked up under their Unix library name; the tests run on Linux.
        Assert.NotNull(NativeInflater.ForThisThread());
    }

    [Fact]
    public void Clusters_inflated_one_after_another_on_one_thread_match_their_data()
    {
        var inflater = RequireInflater();
        for (var seed = 0; seed < 4; seed++)
        {
            var data = Payload(seed, Cluster);
            var output = new byte[Cluster];
            Assert.True(inflater.InflateWhole(Deflate(data), output));
            Assert.Equal(data, output);
        }
    }

    [Fact]
    public void Data_that_ends_before_the_cluster_is_full_is_reported()
    {
        var inflater = RequireInflater();
        var compressed = Deflate(Payload(1, Cluster));
        Assert.False(inflater.InflateWhole(compressed.AsSpan(0, compressed.Length / 2), new byte[Cluster]));

        // A complete stream that holds less than a cluster fails too.
        Assert.False(inflater.InflateWhole(Deflate(Payload(2, Cluster / 2)), new byte[Cluster]));

        // The stream is usable again after a failure.
        var data = Payload(3, Cluster);
        var output = new byte[Cluster];
        Assert.True(inflater.InflateWhole(Deflate(data), output));
        Assert.Equal(data, output);
    }

    [Fact]
    public void Padding_after_the_stream_and_data_beyond_the_cluster_are_ignored()
    {
        var inflater = RequireInflater();
        var data = Payload(4, 2 * Cluster);
        var compressed = Deflate(data);
        var padded = new byte[compressed.Length + 511];
        compressed.CopyTo(padded, 0);
        var output = new byte[2 * Cluster];
        Assert.True(inflater.InflateWhole(padded, output));
        Assert.Equal(data, output);

        // A stream longer than the cluster fills it and stops.
        var first = new byte[Cluster];
        Assert.True(inflater.InflateWhole(compressed, first));
        Assert.Equal(data.AsSpan(0, Cluster).ToArray(), first);
    }

    [Fact]
    public void Bytes_that_are_not_deflate_throw()
    {
        var inflater = RequireInflater();

        // Block type 3 does not exist in deflate.
        var garbage = new byte[4096];
        Array.Fill(garbage, (byte)0xff);
        Assert.Throws<InvalidDataException>(() => inflater.InflateWhole(garbage, new byte[Cluster]));
    }

    private static NativeInflater RequireInflater()
    {
        return NativeInflater.ForThisThread() ?? throw new InvalidOperationException("the runtime's zlib was not found");
    }

    /// <summary>Half text-like (compressible), half pseudo-random bytes.</summary>
    private static byte[] Payload(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data.AsSpan(length / 2));
        for (var i = 0; i < length / 2; i++)
        {
            data[i] = (byte)('a' + ((i * (seed + 3)) % 23));
        }

        return data;
    }

    private static byte[] Deflate(byte[] data)
    {
        using var sink = new MemoryStream();
        using (var deflate = new DeflateStream(sink, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
        }

        return sink.ToArray();
    }
}
