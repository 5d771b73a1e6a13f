using DiskImage.Formats;
using DiskImage.Formats.Qcow2.Bitmaps;
using DiskImage.Formats.Raw;
using DiskImage.IO;
using DiskImage.Operations.Conversion;

namespace DiskImage.Tests.Operations;

/// <summary>
/// The runs of a copy into a target with a backing file (<c>convert -B</c>, and <c>--bitmap</c> for an incremental
/// backup): a worked example, and random chains and bitmaps (including runs longer than the 1 GiB window and
/// compressed targets) checked unit by unit against the rules: the source's own layer without a bitmap, the chain
/// in dirty granules with one, zeroes past the target's backing end left to it, and whole clusters when compressed.
/// </summary>
public class OverlaySpansTests
{
    private const char Data = 'D';
    private const char Zero = 'Z';
    private const char Unallocated = '.';
    private const char Backing = 'B';

    /// <summary>A layer whose block status is one character per unit (D data, Z zeroes, . unallocated).</summary>
    private sealed class Layer(string kinds, long unit, IDiskImage? backing) : IDiskImage
    {
        public IImageFormat Format => RawFormat.Instance;
        public string FilePath => "layer";
        public IDiskImage? Backing => backing;
        public long Length => kinds.Length * unit;
        public bool CanWrite => false;
        public ImageInfo GetInfo() => throw new NotSupportedException();
        public void Read(long offset, Span<byte> buffer) => throw new NotSupportedException();
        public void Write(long offset, ReadOnlySpan<byte> data) => throw new NotSupportedException();
        public void WriteZeroes(long offset, long length, bool mayUnmap) => throw new NotSupportedException();
        public void Discard(long offset, long length) => throw new NotSupportedException();
        public void Flush() { }
        public void Dispose() { }

        public IReadOnlyList<Extent> GetExtents(long offset, long count)
        {
            var result = new List<Extent>();
            var end = Math.Min(Length, offset + count);
            for (var position = offset; position < end;)
            {
                var kind = kinds[(int)(position / unit)];
                var next = ((position / unit) + 1) * unit;
                while (next < end && kinds[(int)(next / unit)] == kind)
                {
                    next += unit;
                }

                next = Math.Min(next, end);
                result.Add(new Extent(position, next - position, kind switch { Data => ExtentKind.Data, Zero => ExtentKind.Zero, _ => ExtentKind.Unallocated }));
                position = next;
            }

            return result;
        }
    }

    [Fact]
    public void An_incremental_copies_dirty_granules_as_the_chain_reads_and_leaves_the_rest_to_the_previous_backup()
    {
        const long Unit = 512;
        var base_ = new Layer("DDDDZZ..", Unit, null);
        var top = new Layer("..D...Z.", Unit, base_);
        var bitmap = new Qcow2DirtyBitmap("b", 10, enabled: true, top.Length); // two units a granule
        bitmap.MarkDirty(0, 1);          // units 0-1: base data
        bitmap.MarkDirty(4 * Unit, 1);   // units 4-5: base zeroes
        bitmap.MarkDirty(7 * Unit, 1);   // units 6-7: top zeroes, then nothing anywhere

        Assert.Equal("DDBBZZZZ", Render(new OverlaySpans(top, top.Length, bitmap, 0), top.Length, Unit));
        Assert.Equal("BBDBBBZB", Render(new OverlaySpans(top, top.Length, null, 0), top.Length, Unit));

        // The previous backup ends after five units: zeroes past it need no writing.
        Assert.Equal("DDBBZBBB", Render(new OverlaySpans(top, 5 * Unit, bitmap, 0), top.Length, Unit));

        // Compressed, four units a cluster: a cluster with anything to write is read whole.
        Assert.Equal("DDDDZZZZ", Render(new OverlaySpans(top, top.Length, bitmap, 4 * (int)Unit), top.Length, Unit));
    }

    [Theory]
    [InlineData(512L, 40)]
    [InlineData(256L << 20, 14)]
    public void Random_chains_and_bitmaps_follow_the_rules_unit_by_unit(long unit, int maxUnits)
    {
        var random = new Random(unchecked((int)unit) ^ 0x5eed);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n * 2 : 400;
        for (var i = 0; i < iterations; i++)
        {
            var units = random.Next(1, maxUnits + 1);
            var baseUnits = random.Next(0, units + 3);
            var hasBase = random.Next(4) != 0;
            var baseKinds = RandomKinds(random, Math.Max(1, baseUnits));
            IDiskImage? base_ = hasBase ? new Layer(baseKinds, unit, null) : null;
            var topKinds = RandomKinds(random, units);
            var top = new Layer(topKinds, unit, base_);
            var length = top.Length;

            Qcow2DirtyBitmap? bitmap = null;
            var granuleUnits = 1 << random.Next(0, 3);
            if (random.Next(3) != 0)
            {
                bitmap = new Qcow2DirtyBitmap("b", System.Numerics.BitOperations.Log2((ulong)(unit * granuleUnits)), enabled: true, length);
                for (var u = 0; u < units; u++)
                {
                    if (random.Next(3) == 0)
                    {
                        bitmap.MarkDirty(u * unit, unit);
                    }
                }
            }

            long? targetBacking = random.Next(4) == 0 ? null : random.Next(0, units + 2) * unit;
            var clusterUnits = random.Next(3) == 0 ? 1 << random.Next(0, 3) : 0;
            if (clusterUnits * unit > int.MaxValue)
            {
                clusterUnits = 0;
            }

            var spans = new OverlaySpans(top, targetBacking, bitmap, (int)(clusterUnits * unit));
            var what = $"top {topKinds} base {(hasBase ? baseKinds : "none")} granule {granuleUnits} dirty {(bitmap is null ? "no bitmap" : string.Concat(Enumerable.Range(0, units).Select(u => IsDirty(bitmap, u * unit) ? '1' : '0')))} target backing {targetBacking / unit} cluster {clusterUnits}";
            Assert.True(Expected(top, base_, bitmap, targetBacking, clusterUnits, unit) == Render(spans, length, unit), what);
        }
    }

    /// <summary>One character per unit; throws when the runs are not contiguous from 0 to the end or split a unit.</summary>
    private static string Render(OverlaySpans overlay, long length, long unit)
    {
        var text = new System.Text.StringBuilder();
        var position = 0L;
        foreach (var span in overlay.Walk(CancellationToken.None))
        {
            Assert.True(span.TargetOffset == position && span.Length > 0 && span.SourceOffset == span.TargetOffset && span.SourceIndex == 0,
                $"run {span} after {position}");
            Assert.True(span.TargetOffset % unit == 0 && span.Length % unit == 0, $"run {span} splits a unit");
            text.Append(span.Kind switch { SpanKind.Data => Data, SpanKind.Zero => Zero, _ => Backing }, (int)(span.Length / unit));
            position = span.TargetEnd;
        }

        Assert.Equal(length, position);
        return text.ToString();
    }

    private static string Expected(Layer top, IDiskImage? base_, Qcow2DirtyBitmap? bitmap, long? targetBacking, int clusterUnits, long unit)
    {
        var units = (int)(top.Length / unit);
        var kinds = new char[units];
        for (var u = 0; u < units; u++)
        {
            var offset = u * unit;
            var own = KindAt(top, offset);
            char kind;
            if (bitmap is not null)
            {
                kind = !IsDirty(bitmap, offset) ? Backing : ChainKind(top, offset);
            }
            else
            {
                kind = own != Unallocated ? own : base_ is not null && offset < base_.Length ? Backing : Zero;
            }

            if (kind == Zero && targetBacking is { } end && offset >= end)
            {
                kind = Backing;
            }

            kinds[u] = kind;
        }

        if (clusterUnits > 0)
        {
            for (var cell = 0; cell < units; cell += clusterUnits)
            {
                var cellEnd = Math.Min(units, cell + clusterUnits);
                if (kinds[cell..cellEnd].Any(k => k != Backing))
                {
                    for (var u = cell; u < cellEnd; u++)
                    {
                        kinds[u] = kinds[u] == Backing ? Data : kinds[u];
                    }
                }
            }
        }

        return new string(kinds);
    }

    private static char ChainKind(IDiskImage image, long offset)
    {
        for (IDiskImage? layer = image; layer is not null; layer = layer.Backing)
        {
            if (offset >= layer.Length)
            {
                return Zero;
            }

            var kind = KindAt(layer, offset);
            if (kind != Unallocated)
            {
                return kind;
            }
        }

        return Zero;
    }

    private static char KindAt(IDiskImage layer, long offset) => layer.GetExtents(offset, 1)[0].Kind switch
    {
        ExtentKind.Data => Data,
        ExtentKind.Zero => Zero,
        _ => Unallocated,
    };

    private static bool IsDirty(Qcow2DirtyBitmap bitmap, long offset) => bitmap.NextDirtyArea(offset, offset + 1, 1, out _, out _);

    private static string RandomKinds(Random random, int units) =>
        new([.. Enumerable.Range(0, units).Select(_ => "DDZ.."[random.Next(5)])]);
}
