using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>
/// <see cref="Qcow2DirtyBitmap.NextDirtyArea"/>: worked examples, and random bitmaps and queries checked against a
/// granule-by-granule model (the first dirty byte at or after the start, then the dirty run from there, clipped to
/// the end, the disk and the maximum length).
/// </summary>
public class Qcow2DirtyBitmapNextDirtyAreaTests
{
    [Fact]
    public void The_run_starts_inside_a_dirty_granule_at_the_start_and_stops_at_the_first_clean_one()
    {
        var bitmap = new Qcow2DirtyBitmap("b", 12, enabled: true, imageLength: 1L << 20);
        bitmap.MarkDirty(4096, 3 * 4096); // granules 1-3

        Assert.True(bitmap.NextDirtyArea(0, 1L << 20, long.MaxValue, out var start, out var length));
        Assert.Equal((4096L, 3 * 4096L), (start, length));
        Assert.True(bitmap.NextDirtyArea(5000, 1L << 20, long.MaxValue, out start, out length));
        Assert.Equal((5000L, (4 * 4096L) - 5000), (start, length));
        Assert.True(bitmap.NextDirtyArea(0, 10000, long.MaxValue, out start, out length));
        Assert.Equal((4096L, 10000L - 4096), (start, length));
        Assert.True(bitmap.NextDirtyArea(0, 1L << 20, 100, out start, out length));
        Assert.Equal((4096L, 100L), (start, length));
        Assert.False(bitmap.NextDirtyArea(4 * 4096, 1L << 20, long.MaxValue, out _, out _));
        Assert.False(bitmap.NextDirtyArea(0, 4096, long.MaxValue, out _, out _));
    }

    [Fact]
    public void Runs_cross_word_boundaries_and_end_at_the_disk_s_last_partial_granule()
    {
        const long Length = (130L * 512) + 100;
        var bitmap = new Qcow2DirtyBitmap("b", 9, enabled: true, imageLength: Length);
        bitmap.MarkDirty(60 * 512, Length - (60 * 512)); // granules 60-130, across two word boundaries

        Assert.True(bitmap.NextDirtyArea(0, long.MaxValue, long.MaxValue, out var start, out var length));
        Assert.Equal((60 * 512L, Length - (60 * 512)), (start, length));
    }

    [Theory]
    [InlineData(-1L, 100L)]
    [InlineData(100L, 100L)]
    [InlineData(200L, 100L)]
    [InlineData(1L << 20, 2L << 20)]
    public void Empty_negative_or_past_the_disk_ranges_find_nothing(long start, long end)
    {
        var bitmap = new Qcow2DirtyBitmap("b", 9, enabled: true, imageLength: 1L << 20);
        bitmap.MarkDirty(0, 1L << 20);
        Assert.False(bitmap.NextDirtyArea(start, end, long.MaxValue, out _, out _));
    }

    [Fact]
    public void Random_bitmaps_and_queries_agree_with_a_granule_model()
    {
        var random = new Random(20261201);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n * 10 : 2000;
        for (var i = 0; i < iterations; i++)
        {
            var bits = random.Next(9, 13);
            var granules = random.Next(1, 300);
            var length = ((long)(granules - 1) << bits) + random.NextInt64(1, (1L << bits) + 1);
            var bitmap = new Qcow2DirtyBitmap("b", bits, enabled: true, imageLength: length);
            var model = new bool[granules];
            var density = random.NextDouble();
            for (var g = 0; g < granules; g++)
            {
                if (random.NextDouble() < density)
                {
                    model[g] = true;
                    bitmap.MarkDirty((long)g << bits, 1);
                }
            }

            for (var q = 0; q < 10; q++)
            {
                var start = random.NextInt64(-2, length + 2);
                var end = random.Next(4) == 0 ? long.MaxValue : random.NextInt64(-2, length + (2L << bits));
                var maxLength = random.Next(3) == 0 ? long.MaxValue : random.NextInt64(1, length + 1);
                var expected = Model(model, bits, length, start, end, maxLength);
                (long, long)? actual = bitmap.NextDirtyArea(start, end, maxLength, out var dirtyStart, out var dirtyLength) ? (dirtyStart, dirtyLength) : null;
                Assert.True(expected == actual, $"bits {bits} length {length} query ({start}, {end}, {maxLength}): got {actual}, model {expected}");
            }
        }
    }

    /// <summary>The answer worked out byte range by granule: first dirty byte at or after start, then the dirty run.</summary>
    private static (long, long)? Model(bool[] dirty, int bits, long length, long start, long end, long maxLength)
    {
        end = Math.Min(end, length);
        if (start < 0 || start >= end)
        {
            return null;
        }

        var position = start;
        while (position < end && !dirty[position >> bits])
        {
            position = ((position >> bits) + 1) << bits;
        }

        if (position >= end)
        {
            return null;
        }

        var limit = position + Math.Min(end - position, maxLength);
        var runEnd = position;
        while (runEnd < limit && dirty[runEnd >> bits])
        {
            runEnd = ((runEnd >> bits) + 1) << bits;
        }

        return (position, Math.Min(runEnd, limit) - position);
    }
}
