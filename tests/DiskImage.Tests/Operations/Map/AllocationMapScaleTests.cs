using DiskImage.Cli.Rendering;
using DiskImage.Formats;
using DiskImage.Formats.Raw;
using DiskImage.IO;
using DiskImage.Operations.Map;

namespace DiskImage.Tests.Operations.Map;

/// <summary>
/// The picture of a huge, fragmented image stays small and the map's memory does not grow with the number of
/// extents (the time is recorded in docs/BENCHMARKS.md, not asserted here).
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public class AllocationMapScaleTests
{
    private const long TiB = 1L << 40;

    [Fact]
    public void A_1_TiB_image_with_100000_extents_gives_an_svg_under_2_MB()
    {
        var image = new StripedImage(TiB, dataRuns: 50_000);
        var map = AllocationMap.Build(image);
        Assert.InRange(image.RunsServed, 100_000, 100_001);   // plus the unallocated tail past the last stride

        var svg = new CountingWriter();
        AllocationMapPicture.WriteSvg(svg, map, "striped.img");
        Assert.True(svg.Characters < 2_000_000, $"the SVG has {svg.Characters} characters");
        // The fake has no host offsets, so its data is counted as the map counts data without one (compressed).
        var data = map.Total(AllocationCategory.Data) + map.Total(AllocationCategory.Compressed);
        Assert.Equal(50_000L * StripedImage.RunLength, data);
        Assert.Equal(TiB, data + map.Total(AllocationCategory.Zero) + map.Total(AllocationCategory.Unallocated));
    }

    [Fact]
    public void A_1_TiB_host_file_alternating_data_metadata_and_free_keeps_the_svg_under_2_MB()
    {
        // The worst picture: every guest and every host cell a different category, so no rectangles merge.
        var image = new StripedImage(TiB, dataRuns: 50_000, hostRuns: 100_000);
        var map = AllocationMap.Build(image);
        Assert.NotNull(map.HostFile);
        Assert.Equal(HostFileMap.DefaultMaxBuckets, map.HostFile.BucketCount);
        Assert.Equal(TiB, map.HostFile.Total(HostFileCategory.Data) + map.HostFile.Total(HostFileCategory.Metadata) + map.HostFile.Total(HostFileCategory.Free));

        var svg = new CountingWriter();
        AllocationMapPicture.WriteSvg(svg, map, "striped.img");
        Assert.True(svg.Characters < 2_000_000, $"the SVG has {svg.Characters} characters");
    }

    [Fact]
    public void The_map_holds_a_bounded_amount_of_memory_for_100_and_100000_extents()
    {
        var (fewMap, fewBytes) = Retained(() => AllocationMap.Build(new StripedImage(TiB, dataRuns: 50)));
        var (manyMap, manyBytes) = Retained(() => AllocationMap.Build(new StripedImage(TiB, dataRuns: 50_000)));
        Assert.Equal(fewMap.BucketCount, manyMap.BucketCount);

        // 4096 buckets of 5 counters is 160 KiB. Keeping the runs would take at least 2.4 MB for 100,000 of them
        // (24 bytes each), so a bound of 1 MiB for both says nothing is kept per run.
        Assert.True(fewBytes < 1 << 20, $"the map of 100 extents holds {fewBytes} bytes");
        Assert.True(manyBytes < 1 << 20, $"the map of 100,000 extents holds {manyBytes} bytes");
    }

    private static (AllocationMap Map, long Bytes) Retained(Func<AllocationMap> build)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var map = build();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(map);
        return (map, after - before);
    }

    /// <summary>Counts what is written and keeps nothing.</summary>
    private sealed class CountingWriter : TextWriter
    {
        public long Characters { get; private set; }

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => Characters++;

        public override void Write(string? value) => Characters += value?.Length ?? 0;
    }

    /// <summary>
    /// A raw-like image whose block status is computed, not stored: <paramref name="dataRuns"/> runs of 64 KiB of data
    /// spread evenly, unallocated between them, so the walk sees twice as many extents.
    /// </summary>
    private sealed class StripedImage(long length, int dataRuns, int hostRuns = 0) : IDiskImage, IHostFileLayout
    {
        public const long RunLength = 64 << 10;
        private readonly long _stride = length / dataRuns / RunLength * RunLength;

        public int RunsServed { get; private set; }

        public IImageFormat Format => RawFormat.Instance;
        public string FilePath => "striped.img";
        public IDiskImage? Backing => null;
        public long Length => length;
        public bool CanWrite => false;
        public ImageInfo GetInfo() => new() { Filename = FilePath, Format = "raw", VirtualSize = length };
        public void Read(long offset, Span<byte> buffer) => throw new NotSupportedException();
        public void Write(long offset, ReadOnlySpan<byte> data) => throw new NotSupportedException();
        public void WriteZeroes(long offset, long length, bool mayUnmap) => throw new NotSupportedException();
        public void Discard(long offset, long length) => throw new NotSupportedException();
        public void Flush() { }
        public void Dispose() { }

        /// <summary>With <c>hostRuns</c> above zero, a host file as long as the disk in that many runs cycling through the categories.</summary>
        public long HostLayoutLength => hostRuns > 0 ? length : 0;

        public void DescribeHostFile(Action<long, long, HostFileCategory> report)
        {
            var run = length / Math.Max(1, hostRuns);
            for (var i = 0; i < hostRuns; i++)
            {
                report(i * run, i == hostRuns - 1 ? length - (i * run) : run, (HostFileCategory)(i % 3));
            }
        }

        public IReadOnlyList<Extent> GetExtents(long offset, long count)
        {
            var run = offset / _stride;
            var inRun = offset - (run * _stride);
            var end = run < dataRuns ? (run * _stride) + (inRun < RunLength ? RunLength : _stride) : length;
            var kind = run < dataRuns && inRun < RunLength ? ExtentKind.Data : ExtentKind.Unallocated;
            RunsServed++;
            return [new Extent(offset, Math.Min(end, offset + count) - offset, kind)];
        }
    }
}
