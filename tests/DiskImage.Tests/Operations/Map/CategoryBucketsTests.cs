using DiskImage.Operations.Map;

namespace DiskImage.Tests.Operations.Map;

/// <summary>The shared bucket counting behind both map pictures, checked against hand arithmetic.</summary>
public class CategoryBucketsTests
{
    private enum Colour
    {
        Red,
        Green,
        Blue,
    }

    [Fact]
    public void Bucket_size_is_a_multiple_of_512_and_the_count_covers_the_length()
    {
        // 10 000 bytes over at most 4 buckets: 2 500 per bucket, rounded up to 2 560; 4 buckets, the last 2 320 long.
        var buckets = new CategoryBuckets<Colour>(10_000, 4);
        Assert.Equal(2560, buckets.BucketSize);
        Assert.Equal(4, buckets.BucketCount);
        Assert.Equal(2560 * 3, buckets.BucketStart(3));
        Assert.Equal(10_000 - (2560 * 3), buckets.BucketLength(3));

        // Fewer bytes than buckets still gives whole 512-byte buckets, and an empty span one bucket.
        var small = new CategoryBuckets<Colour>(1000, 4096);
        Assert.Equal(512, small.BucketSize);
        Assert.Equal(2, small.BucketCount);
        Assert.Equal(1, new CategoryBuckets<Colour>(0, 16).BucketCount);
    }

    [Fact]
    public void A_range_crossing_buckets_is_split_at_their_edges()
    {
        var buckets = new CategoryBuckets<Colour>(4096, 4); // 1024-byte buckets
        buckets.Add(1000, 2100, Colour.Green);              // 24 in bucket 0, 1024 in 1, 1024 in 2, 28 in 3
        Assert.Equal(24, buckets.BucketBytes(0, Colour.Green));
        Assert.Equal(1024, buckets.BucketBytes(1, Colour.Green));
        Assert.Equal(1024, buckets.BucketBytes(2, Colour.Green));
        Assert.Equal(28, buckets.BucketBytes(3, Colour.Green));
        Assert.Equal(2100, buckets.Total(Colour.Green));
        Assert.Equal(0, buckets.Total(Colour.Red));
    }

    [Fact]
    public void Ranges_outside_the_span_are_clipped()
    {
        var buckets = new CategoryBuckets<Colour>(2048, 2);
        buckets.Add(-100, 200, Colour.Red);            // only [0, 100) counts
        buckets.Add(2000, long.MaxValue, Colour.Blue); // only [2000, 2048) counts, no overflow
        buckets.Add(5000, 10, Colour.Green);           // wholly outside
        buckets.Add(10, -5, Colour.Green);             // empty
        Assert.Equal(100, buckets.Total(Colour.Red));
        Assert.Equal(48, buckets.Total(Colour.Blue));
        Assert.Equal(48, buckets.BucketBytes(1, Colour.Blue));
        Assert.Equal(0, buckets.Total(Colour.Green));
    }

    [Fact]
    public void Dominant_is_the_largest_category_and_ties_go_to_the_first()
    {
        var buckets = new CategoryBuckets<Colour>(2048, 2);
        Assert.Equal(Colour.Red, buckets.Dominant(0)); // all zero: the first category
        buckets.Add(0, 300, Colour.Blue);
        buckets.Add(300, 200, Colour.Green);
        Assert.Equal(Colour.Blue, buckets.Dominant(0));
        buckets.Add(1024, 512, Colour.Green);
        buckets.Add(1536, 512, Colour.Blue);
        Assert.Equal(Colour.Green, buckets.Dominant(1));
    }

    [Fact]
    public void Out_of_range_buckets_and_categories_are_refused()
    {
        var buckets = new CategoryBuckets<Colour>(2048, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => buckets.BucketBytes(2, Colour.Red));
        Assert.Throws<ArgumentOutOfRangeException>(() => buckets.BucketBytes(-1, Colour.Red));
        Assert.Throws<ArgumentOutOfRangeException>(() => buckets.Add(0, 1, (Colour)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CategoryBuckets<Colour>(10, 0));
    }
}
