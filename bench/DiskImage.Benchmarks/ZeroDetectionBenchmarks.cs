using System.Numerics;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace DiskImage.Benchmarks;

/// <summary>
/// Ways to decide whether a 64 KiB buffer is all zeroes (convert's -S detection). "zero" scans the whole
/// buffer, the worst and most common case on sparse images; "late" has one non-zero byte at the very end;
/// "early" one in the first bytes (data clusters: every method should exit at once).
/// </summary>
[MemoryDiagnoser]
public class ZeroDetectionBenchmarks
{
    private static readonly byte[] s_zeroes = new byte[SampleData.ClusterSize];
    private byte[] _buffer = [];

    [Params("zero", "late", "early")]
    public string Content { get; set; } = "zero";

    [GlobalSetup]
    public void Setup()
    {
        _buffer = new byte[SampleData.ClusterSize];
        if (Content == "late")
        {
            _buffer[^1] = 1;
        }
        else if (Content == "early")
        {
            _buffer[3] = 1;
        }
    }

    [Benchmark(Baseline = true)]
    public bool IndexOfAnyExcept() => _buffer.AsSpan().IndexOfAnyExcept((byte)0) < 0;

    [Benchmark]
    public bool ContainsAnyExcept() => !_buffer.AsSpan().ContainsAnyExcept((byte)0);

    [Benchmark]
    public bool SequenceEqualZeroBuffer() => _buffer.AsSpan().SequenceEqual(s_zeroes);

    [Benchmark]
    public bool UInt64Loop()
    {
        foreach (var word in MemoryMarshal.Cast<byte, ulong>(_buffer.AsSpan()))
        {
            if (word != 0)
            {
                return false;
            }
        }

        return true;
    }

    [Benchmark]
    public bool VectorOrReduce()
    {
        // Ors whole 4-vector blocks before testing, trading early exit for fewer branches.
        var vectors = MemoryMarshal.Cast<byte, Vector<byte>>(_buffer.AsSpan());
        for (var i = 0; i < vectors.Length; i += 4)
        {
            if ((vectors[i] | vectors[i + 1] | vectors[i + 2] | vectors[i + 3]) != Vector<byte>.Zero)
            {
                return false;
            }
        }

        return true;
    }
}
