using BenchmarkDotNet.Attributes;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Benchmarks;

/// <summary>
/// Guest-offset to host-cluster lookups through the public block-device API of a qcow2 image with 64 KiB
/// clusters (one L2 table maps 512 MiB). "cached" spreads lookups over 16 GiB (32 L2 tables, inside the
/// default L2 cache); "thrashing" over 64 GiB (128 tables, more than the cache holds) in random order.
/// 1024 lookups per invocation.
/// </summary>
[MemoryDiagnoser]
public class L2LookupBenchmarks
{
    private const long Gib = 1L << 30;
    private const int Lookups = 1024;
    private readonly byte[] _buffer = new byte[4096];
    private string _directory = "";
    private IDiskImage _image = null!;
    private long[] _offsets = [];

    [Params("cached", "thrashing")]
    public string Spread { get; set; } = "cached";

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("diskimg-l2bench-").FullName;
        var path = Path.Combine(_directory, "l2.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 64 * Gib });
        using (var writer = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false }))
        {
            // 64 allocated clusters in each 512 MiB: every L2 table exists and holds a mix of kinds.
            var data = new byte[4096];
            data.AsSpan().Fill(0x5a);
            for (long offset = 0; offset < 64 * Gib; offset += 8L << 20)
            {
                writer.Write(offset, data);
            }

            writer.Flush();
        }

        _image = ImageFormatRegistry.Default.Open(path, "qcow2");
        var span = Spread == "cached" ? 16 * Gib : 64 * Gib;
        var random = new Random(42);
        _offsets = new long[Lookups];
        for (var i = 0; i < Lookups; i++)
        {
            // Half the lookups land on allocated clusters, half on unallocated ones.
            var slot = random.NextInt64(span / (8L << 20)) * (8L << 20);
            _offsets[i] = i % 2 == 0 ? slot : slot + (1L << 20);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _image.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public int GetExtents()
    {
        var count = 0;
        foreach (var offset in _offsets)
        {
            count += _image.GetExtents(offset, 64 * 1024).Count;
        }

        return count;
    }

    [Benchmark]
    public int Read4K()
    {
        var sum = 0;
        foreach (var offset in _offsets)
        {
            _image.Read(offset, _buffer);
            sum += _buffer[0];
        }

        return sum;
    }
}
