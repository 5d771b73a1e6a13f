using BenchmarkDotNet.Attributes;
using ZstdSharp;

namespace DiskImage.Benchmarks;

/// <summary>zstd (ZstdSharp) of 64 KiB clusters at several levels; QEMU uses the library default, 3.</summary>
[MemoryDiagnoser]
public class ZstdLevelBenchmarks
{
    private const int Clusters = 16;
    private byte[] _data = [];
    private readonly byte[] _output = new byte[2 * SampleData.ClusterSize];
    private Compressor _compressor = null!;

    [Params("random", "repeated", "text")]
    public string Content { get; set; } = "text";

    [Params(1, 3, 9)]
    public int Level { get; set; } = 3;

    [GlobalSetup]
    public void Setup()
    {
        _data = SampleData.Create(Content, Clusters * SampleData.ClusterSize);
        _compressor = new Compressor(Level);
    }

    [GlobalCleanup]
    public void Cleanup() => _compressor.Dispose();

    [Benchmark]
    public long Compress()
    {
        long total = 0;
        for (var i = 0; i < Clusters; i++)
        {
            total += _compressor.Wrap(_data.AsSpan(i * SampleData.ClusterSize, SampleData.ClusterSize), _output);
        }

        return total;
    }
}
