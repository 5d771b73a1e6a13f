using DiskImage.Formats;

namespace DiskImage.Operations.Map;

/// <summary>
/// How an image's host file is laid out, bucketed like <see cref="AllocationMap"/>: the file (rounded up to
/// whole clusters) is cut into at most a fixed number of equal buckets, each counting its bytes per
/// <see cref="HostFileCategory"/>. Offered for formats that keep metadata clusters in the file (qcow2).
/// Byte counts are whole clusters, as <c>qemu-img check</c>'s <c>image-end-offset</c> counts them, so a last
/// cluster the file only partly holds counts whole.
/// </summary>
public sealed class HostFileMap
{
    /// <summary>The bucket count pictures get unless they ask for another (a host strip is a secondary view).</summary>
    public const int DefaultMaxBuckets = 1024;

    private static readonly int s_categories = Enum.GetValues<HostFileCategory>().Length;
    private readonly long[] _bytes;
    private readonly long[] _totals;

    private HostFileMap(long length, long bucketSize, int bucketCount)
    {
        Length = length;
        BucketSize = bucketSize;
        BucketCount = bucketCount;
        _bytes = new long[bucketCount * s_categories];
        _totals = new long[s_categories];
    }

    /// <summary>Bytes covered: the host file's length rounded up to whole clusters.</summary>
    public long Length { get; }

    /// <summary>Host bytes per bucket (the last bucket may be shorter).</summary>
    public long BucketSize { get; }

    /// <summary>Number of buckets.</summary>
    public int BucketCount { get; }

    /// <summary>Bytes of <paramref name="category"/> over the whole file.</summary>
    public long Total(HostFileCategory category) => _totals[(int)category];

    /// <summary>Bytes of <paramref name="category"/> in bucket <paramref name="bucket"/>.</summary>
    public long BucketBytes(int bucket, HostFileCategory category)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucket);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bucket, BucketCount);
        return _bytes[(bucket * s_categories) + (int)category];
    }

    /// <summary>First host offset of bucket <paramref name="bucket"/>.</summary>
    public long BucketStart(int bucket) => bucket * BucketSize;

    /// <summary>Length of bucket <paramref name="bucket"/> in bytes.</summary>
    public long BucketLength(int bucket) => Math.Min(BucketSize, Length - BucketStart(bucket));

    /// <summary>The category holding the most bytes of the bucket (ties go to the earlier category).</summary>
    public HostFileCategory Dominant(int bucket)
    {
        var best = HostFileCategory.Free;
        long most = -1;
        foreach (var category in Enum.GetValues<HostFileCategory>())
        {
            var bytes = BucketBytes(bucket, category);
            if (bytes > most)
            {
                most = bytes;
                best = category;
            }
        }

        return best;
    }

    /// <summary>
    /// The host file layout of <paramref name="image"/>, or null when its format keeps no metadata clusters in
    /// the file that this library can describe (every format but qcow2).
    /// </summary>
    public static HostFileMap? Build(IDiskImage image, int maxBuckets = DefaultMaxBuckets)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBuckets, 1);
        return image is IHostFileLayout { HostLayoutLength: > 0 } layout ? Build(layout, maxBuckets) : null;
    }

    internal static HostFileMap Build(IHostFileLayout layout, int maxBuckets)
    {
        var length = layout.HostLayoutLength;
        var perBucket = Math.Max(1, (length + maxBuckets - 1) / maxBuckets);
        var bucketSize = (perBucket + 511) / 512 * 512;
        var count = (int)Math.Max(1, (length + bucketSize - 1) / bucketSize);
        var map = new HostFileMap(length, bucketSize, count);
        layout.DescribeHostFile(map.Add);
        return map;
    }

    private void Add(long offset, long length, HostFileCategory category)
    {
        // A layout reports inside [0, Length); anything else is clipped rather than trusted.
        var end = Math.Min(Length, offset + length);
        offset = Math.Max(0, offset);
        if (end <= offset)
        {
            return;
        }

        _totals[(int)category] += end - offset;
        while (offset < end)
        {
            var bucket = (int)(offset / BucketSize);
            var piece = Math.Min(end, (bucket + 1L) * BucketSize) - offset;
            _bytes[(bucket * s_categories) + (int)category] += piece;
            offset += piece;
        }
    }
}
