using System.IO.Compression;
using BenchmarkDotNet.Attributes;

namespace DiskImage.Benchmarks;

/// <summary>
/// Raw deflate (what qcow2 calls zlib) of 64 KiB clusters with the BCL at several levels. 16 clusters
/// per invocation. Output sizes per level are printed by the <c>sizes</c> mode (see Program).
/// </summary>
[MemoryDiagnoser]
public class DeflateLevelBenchmarks
{
    private const int Clusters = 16;
    private byte[] _data = [];
    private readonly MemoryStream _sink = new(new byte[2 * SampleData.ClusterSize], 0, 2 * SampleData.ClusterSize, writable: true, publiclyVisible: true);

    [Params("random", "repeated", "text")]
    public string Content { get; set; } = "text";

    [Params(1, 3, 6, 9)]
    public int Level { get; set; } = 6;

    [GlobalSetup]
    public void Setup() => _data = SampleData.Create(Content, Clusters * SampleData.ClusterSize);

    [Benchmark]
    public long Compress()
    {
        long total = 0;
        for (var i = 0; i < Clusters; i++)
        {
            total += CompressOne(_data.AsSpan(i * SampleData.ClusterSize, SampleData.ClusterSize), Level, _sink);
        }

        return total;
    }

    /// <summary>Compressed size of one cluster at <paramref name="level"/> (0-9 zlib scale).</summary>
    public static long CompressOne(ReadOnlySpan<byte> cluster, int level, MemoryStream sink)
    {
        sink.Position = 0;
        using (var deflate = new DeflateStream(sink, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
        {
            deflate.Write(cluster);
        }

        return sink.Position;
    }
}
