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

    private readonly CategoryBuckets<HostFileCategory> _buckets;

    private HostFileMap(long length, int maxBuckets) => _buckets = new CategoryBuckets<HostFileCategory>(length, maxBuckets);

    /// <summary>Bytes covered: the host file's length rounded up to whole clusters.</summary>
    public long Length => _buckets.Length;

    /// <summary>Host bytes per bucket (the last bucket may be shorter).</summary>
    public long BucketSize => _buckets.BucketSize;

    /// <summary>Number of buckets.</summary>
    public int BucketCount => _buckets.BucketCount;

    /// <summary>Bytes of <paramref name="category"/> over the whole file.</summary>
    public long Total(HostFileCategory category) => _buckets.Total(category);

    /// <summary>Bytes of <paramref name="category"/> in bucket <paramref name="bucket"/>.</summary>
    public long BucketBytes(int bucket, HostFileCategory category) => _buckets.BucketBytes(bucket, category);

    /// <summary>First host offset of bucket <paramref name="bucket"/>.</summary>
    public long BucketStart(int bucket) => _buckets.BucketStart(bucket);

    /// <summary>Length of bucket <paramref name="bucket"/> in bytes.</summary>
    public long BucketLength(int bucket) => _buckets.BucketLength(bucket);

    /// <summary>The category holding the most bytes of the bucket (ties go to the earlier category).</summary>
    public HostFileCategory Dominant(int bucket) => _buckets.Dominant(bucket);

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
        // A layout reports inside [0, Length); the buckets clip anything else rather than trust it.
        var map = new HostFileMap(layout.HostLayoutLength, maxBuckets);
        layout.DescribeHostFile(map._buckets.Add);
        return map;
    }
}
