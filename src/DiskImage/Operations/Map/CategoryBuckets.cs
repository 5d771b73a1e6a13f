using System.Runtime.CompilerServices;

namespace DiskImage.Operations.Map;

/// <summary>
/// A span of bytes cut into equal buckets (the last may be shorter), each counting its bytes per category,
/// plus totals over the whole span. The pictures of <see cref="AllocationMap"/> (guest space) and
/// <see cref="HostFileMap"/> (host file) both count this way. Memory is bounded by buckets × categories,
/// whatever the number of ranges added.
/// </summary>
/// <typeparam name="TCategory">An <see langword="int"/>-backed enum whose values run 0..n-1.</typeparam>
internal sealed class CategoryBuckets<TCategory>
    where TCategory : struct, Enum
{
    private static readonly TCategory[] s_values = Enum.GetValues<TCategory>();
    private readonly long[] _bytes;
    private readonly long[] _totals;

    /// <summary>Cuts <paramref name="length"/> bytes into at most <paramref name="maxBuckets"/> buckets whose size is a multiple of 512.</summary>
    public CategoryBuckets(long length, int maxBuckets)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBuckets, 1);
        Length = length;
        var perBucket = Math.Max(1, (length + maxBuckets - 1) / maxBuckets);
        BucketSize = (perBucket + 511) / 512 * 512;
        BucketCount = (int)Math.Max(1, (length + BucketSize - 1) / BucketSize);
        _bytes = new long[BucketCount * s_values.Length];
        _totals = new long[s_values.Length];
    }

    /// <summary>Bytes covered.</summary>
    public long Length { get; }

    /// <summary>Bytes per bucket (the last bucket may be shorter).</summary>
    public long BucketSize { get; }

    /// <summary>Number of buckets.</summary>
    public int BucketCount { get; }

    /// <summary>Bytes of <paramref name="category"/> over the whole span.</summary>
    public long Total(TCategory category) => _totals[Index(category)];

    /// <summary>Bytes of <paramref name="category"/> in bucket <paramref name="bucket"/>.</summary>
    public long BucketBytes(int bucket, TCategory category)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucket);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bucket, BucketCount);
        return _bytes[(bucket * s_values.Length) + Index(category)];
    }

    /// <summary>First offset of bucket <paramref name="bucket"/>.</summary>
    public long BucketStart(int bucket) => bucket * BucketSize;

    /// <summary>Length of bucket <paramref name="bucket"/> in bytes.</summary>
    public long BucketLength(int bucket) => Math.Min(BucketSize, Length - BucketStart(bucket));

    /// <summary>The category holding the most bytes of the bucket (ties go to the category declared first).</summary>
    public TCategory Dominant(int bucket)
    {
        var best = s_values[0];
        long most = -1;
        foreach (var category in s_values)
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
    /// Counts [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) as
    /// <paramref name="category"/>, spread over the buckets it crosses. The part outside [0, Length) is clipped
    /// rather than trusted, so a caller's slip cannot index past the arrays.
    /// </summary>
    public void Add(long offset, long length, TCategory category)
    {
        var index = Index(category);
        var end = length > Length - offset ? Length : offset + length;
        offset = Math.Max(0, offset);
        if (end <= offset)
        {
            return;
        }

        _totals[index] += end - offset;
        while (offset < end)
        {
            var bucket = (int)(offset / BucketSize);
            var piece = Math.Min(end, (bucket + 1L) * BucketSize) - offset;
            _bytes[(bucket * s_values.Length) + index] += piece;
            offset += piece;
        }
    }

    private static int Index(TCategory category)
    {
        // Reinterpreting the enum's storage keeps this free of boxing and reflection (AOT-safe).
        var index = Unsafe.SizeOf<TCategory>() == sizeof(int) ? Unsafe.As<TCategory, int>(ref category) : -1;
        if ((uint)index >= (uint)s_values.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(category), category, "Not a category of this map.");
        }

        return index;
    }
}
