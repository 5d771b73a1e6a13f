using DiskImage.Formats;

namespace DiskImage.Operations.Map;

/// <summary>
/// How an image's guest address space is provisioned, bucketed for pictures: the space is cut into at most
/// a fixed number of equal buckets, and each bucket counts its bytes per <see cref="AllocationCategory"/>.
/// Memory is bounded by the bucket count, whatever the number of extents. Totals follow the runs of
/// <c>qemu-img map --output=json</c>: a run with <c>present: false</c> is unallocated; one at depth &gt; 0 with
/// data is served by a backing file; one with <c>zero: true</c> is zero; one with data and no host offset is
/// compressed (unless the image is encrypted, where no data has one); the rest is data.
/// </summary>
public sealed class AllocationMap
{
    /// <summary>The bucket count pictures get unless they ask for another.</summary>
    public const int DefaultMaxBuckets = 4096;

    private readonly CategoryBuckets<AllocationCategory> _buckets;
    private readonly List<long> _layers;

    private AllocationMap(long virtualSize, int maxBuckets, bool encrypted)
    {
        _buckets = new CategoryBuckets<AllocationCategory>(virtualSize, maxBuckets);
        Encrypted = encrypted;
        _layers = [];
    }

    /// <summary>Guest-visible size in bytes.</summary>
    public long VirtualSize => _buckets.Length;

    /// <summary>Guest bytes per bucket (the last bucket may be shorter).</summary>
    public long BucketSize => _buckets.BucketSize;

    /// <summary>Number of buckets.</summary>
    public int BucketCount => _buckets.BucketCount;

    /// <summary>Whether the image's data is encrypted.</summary>
    public bool Encrypted { get; }

    /// <summary>Bytes allocated (data or zero) in each layer: index 0 is the image, 1 its backing file, and so on.</summary>
    public IReadOnlyList<long> LayerBytes => _layers;

    /// <summary>Bytes allocated in the image itself (layer 0).</summary>
    public long Allocated => _layers.Count > 0 ? _layers[0] : 0;

    /// <summary>Allocated bytes of the image itself per guest byte: 0 for an empty thin image, 1 for a fully provisioned one.</summary>
    public double ThinProvisioningRatio => VirtualSize == 0 ? 0 : (double)Allocated / VirtualSize;

    /// <summary>
    /// The layout of the image's own host file (data, metadata, free), or null for formats that keep no
    /// metadata clusters this library describes. Metadata has no guest address, so it is a second view.
    /// </summary>
    public HostFileMap? HostFile { get; private init; }

    /// <summary>Bytes of <paramref name="category"/> over the whole image.</summary>
    public long Total(AllocationCategory category) => _buckets.Total(category);

    /// <summary>Bytes of <paramref name="category"/> in bucket <paramref name="bucket"/>.</summary>
    public long BucketBytes(int bucket, AllocationCategory category) => _buckets.BucketBytes(bucket, category);

    /// <summary>First guest offset of bucket <paramref name="bucket"/>.</summary>
    public long BucketStart(int bucket) => _buckets.BucketStart(bucket);

    /// <summary>Length of bucket <paramref name="bucket"/> in bytes.</summary>
    public long BucketLength(int bucket) => _buckets.BucketLength(bucket);

    /// <summary>The category holding the most bytes of the bucket (ties go to the earlier category).</summary>
    public AllocationCategory Dominant(int bucket) => _buckets.Dominant(bucket);

    /// <summary>
    /// Walks the whole image through its backing chain, run by run (nothing is kept per run), into at most
    /// <paramref name="maxBuckets"/> buckets whose size is a multiple of 512 bytes, and describes the
    /// image's host file (<see cref="HostFile"/>) in at most <see cref="HostFileMap.DefaultMaxBuckets"/> buckets.
    /// </summary>
    public static AllocationMap Build(IDiskImage image, int maxBuckets = DefaultMaxBuckets)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBuckets, 1);
        var size = image.Length;
        var map = new AllocationMap(size, maxBuckets, image.GetInfo().Encrypted) { HostFile = HostFileMap.Build(image) };
        for (var offset = 0L; offset < size;)
        {
            var run = ChainExtents.StatusAt(image, offset, size - offset);
            if (run.Length <= 0)
            {
                throw new InvalidImageException($"Block status of '{image.FilePath}' made no progress at offset {offset}");
            }

            map.Add(run, Math.Min(run.Length, size - offset), offset);
            offset += run.Length;
        }

        return map;
    }

    private void Add(MapEntry run, long length, long offset)
    {
        var category = Classify(run);
        if (run.Present)
        {
            while (_layers.Count <= run.Depth)
            {
                _layers.Add(0);
            }

            _layers[run.Depth] += length;
        }

        _buckets.Add(offset, length, category);
    }

    private AllocationCategory Classify(MapEntry run) =>
        !run.Present ? AllocationCategory.Unallocated
        : run.Zero ? AllocationCategory.Zero
        : run.Depth > 0 ? AllocationCategory.Backing
        : run.Data && run.Offset is null && !Encrypted ? AllocationCategory.Compressed
        : AllocationCategory.Data;
}
