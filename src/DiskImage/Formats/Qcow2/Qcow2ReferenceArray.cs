namespace DiskImage.Formats.Qcow2;

/// <summary>
/// The references counted by a check, one per host cluster, saturating at the image's refcount width.
/// Sized by the file length (plus at most one cluster a check may add), never by offsets read from the file.
/// </summary>
internal sealed class Qcow2ReferenceArray
{
    /// <summary>Refuses to check files with more clusters than this (8 bytes each in memory).</summary>
    public const long MaxClusters = 1L << 27;

    private ulong[] _counts;

    public Qcow2ReferenceArray(long clusters, ulong max)
    {
        if (clusters > MaxClusters)
        {
            throw new InvalidImageException($"The image file has {clusters} clusters; checking more than {MaxClusters} is not supported");
        }

        _counts = new ulong[Math.Max(clusters, 1)];
        Count = clusters;
        Max = max;
    }

    /// <summary>Clusters covered (QEMU's nb_clusters).</summary>
    public long Count { get; private set; }

    public ulong Max { get; }

    public ulong this[long cluster]
    {
        get => cluster < Count ? _counts[cluster] : 0;
        set
        {
            Grow(cluster + 1);
            _counts[cluster] = value;
        }
    }

    /// <summary>Makes the array cover at least <paramref name="clusters"/> clusters (new ones count 0).</summary>
    public void Grow(long clusters)
    {
        if (clusters <= Count)
        {
            return;
        }

        if (clusters > MaxClusters)
        {
            throw new InvalidImageException($"Checking more than {MaxClusters} clusters is not supported");
        }

        if (clusters > _counts.Length)
        {
            Array.Resize(ref _counts, (int)Math.Min(MaxClusters, Math.Max(clusters, _counts.Length * 2L)));
        }

        Count = clusters;
    }

    public void Clear() => Array.Clear(_counts);
}
