using System.Globalization;
using ZstdSharp;

namespace DiskImage.Benchmarks;

/// <summary>
/// The <c>sizes</c> mode: compresses every 64 KiB cluster of each quarter of a corpus image (as written by
/// bench/make-corpus.py) at each deflate and zstd level and prints the bytes qcow2 would store, counting
/// clusters that do not shrink below cluster size - 1 as stored uncompressed and skipping all-zero
/// clusters, as qemu-img convert -c does.
/// </summary>
public static class CompressionSizeReport
{
    private static readonly int[] s_deflateLevels = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    private static readonly int[] s_zstdLevels = [1, 3, 5, 9];

    public static int Run(string corpusPath, TextWriter output)
    {
        using var file = File.OpenHandle(corpusPath);
        var length = RandomAccess.GetLength(file);
        var quarter = length / 4;
        var cluster = new byte[SampleData.ClusterSize];
        var sink = new MemoryStream(new byte[2 * SampleData.ClusterSize], 0, 2 * SampleData.ClusterSize, writable: true, publiclyVisible: true);
        var zstdOutput = new byte[2 * SampleData.ClusterSize];
        output.WriteLine("quarter\tcodec\tlevel\tstored bytes\tcompressed clusters\tseconds");
        for (var q = 0; q < 4; q++)
        {
            foreach (var level in s_deflateLevels)
            {
                Measure(q, "deflate", level, (c) => DeflateLevelBenchmarks.CompressOne(c, level, sink));
            }

            foreach (var level in s_zstdLevels)
            {
                using var compressor = new Compressor(level);
                Measure(q, "zstd", level, (c) => compressor.Wrap(c, zstdOutput));
            }
        }

        return 0;

        void Measure(int q, string codec, int level, Func<ReadOnlySpan<byte>, long> compress)
        {
            long stored = 0;
            var compressed = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var offset = q * quarter; offset < (q + 1) * quarter; offset += cluster.Length)
            {
                RandomAccess.Read(file, cluster, offset);
                if (!cluster.AsSpan().ContainsAnyExcept((byte)0))
                {
                    continue;
                }

                var size = compress(cluster);
                if (size < cluster.Length - 1)
                {
                    stored += size;
                    compressed++;
                }
                else
                {
                    stored += cluster.Length;
                }
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{q + 1}\t{codec}\t{level}\t{stored}\t{compressed}\t{clock.Elapsed.TotalSeconds:0.00}"));
        }
    }
}
