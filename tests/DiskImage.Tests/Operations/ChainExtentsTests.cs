using DiskImage.Formats;
using DiskImage.Formats.Raw;
using DiskImage.IO;
using DiskImage.Operations;

namespace DiskImage.Tests.Operations;

public class ChainExtentsTests
{
    /// <summary>A layer that reports fixed block status; only what extent resolution needs is implemented.</summary>
    private sealed class Layer(long length, IDiskImage? backing, params Extent[] extents) : IDiskImage
    {
        public IImageFormat Format => RawFormat.Instance;
        public string FilePath => "layer";
        public IDiskImage? Backing => backing;
        public long Length => length;
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
            foreach (var e in extents)
            {
                var start = Math.Max(e.Offset, offset);
                var end = Math.Min(e.End, offset + count);
                if (start < end)
                {
                    result.Add(new Extent(start, end - start, e.Kind));
                }
            }

            return result;
        }
    }

    [Fact]
    public void Unallocated_ranges_take_the_backing_status_and_stay_unallocated_past_its_end()
    {
        var bottom = new Layer(300, null,
            new Extent(0, 100, ExtentKind.Data), new Extent(100, 100, ExtentKind.Zero), new Extent(200, 100, ExtentKind.Unallocated));
        var top = new Layer(500, bottom,
            new Extent(0, 50, ExtentKind.Unallocated), new Extent(50, 100, ExtentKind.Zero), new Extent(150, 350, ExtentKind.Unallocated));

        Assert.Equal(
            [
                new Extent(0, 50, ExtentKind.Data),
                new Extent(50, 150, ExtentKind.Zero),
                new Extent(200, 300, ExtentKind.Unallocated),
            ],
            ChainExtents.Resolve(top, 0, 500));
    }

    [Fact]
    public void A_partial_range_is_resolved_within_its_bounds()
    {
        var bottom = new Layer(1000, null, new Extent(0, 1000, ExtentKind.Data));
        var middle = new Layer(1000, bottom, new Extent(0, 400, ExtentKind.Zero), new Extent(400, 600, ExtentKind.Unallocated));
        var top = new Layer(1000, middle, new Extent(0, 1000, ExtentKind.Unallocated));

        Assert.Equal([new Extent(300, 100, ExtentKind.Zero), new Extent(400, 200, ExtentKind.Data)], ChainExtents.Resolve(top, 300, 300));
    }

    [Fact]
    public void The_cursor_walks_windows_and_answers_unallocated_past_the_image()
    {
        var image = new Layer(1000, null, new Extent(0, 600, ExtentKind.Data), new Extent(600, 400, ExtentKind.Zero));
        var cursor = new ExtentCursor(image, 1024);
        Assert.Equal(new Extent(100, 500, ExtentKind.Data), cursor.At(100));
        Assert.Equal(new Extent(700, 300, ExtentKind.Zero), cursor.At(700));
        Assert.Equal(new Extent(1000, 24, ExtentKind.Unallocated), cursor.At(1000));
    }
}
