namespace DiskImage.Operations.Check;

/// <summary>
/// The tallies of one consistency check pass, named as QEMU's <c>ImageCheck</c> fields, plus the
/// diagnostic lines the pass produced (qemu-img prints them on stderr).
/// </summary>
public sealed class CheckCounts
{
    /// <summary>Errors that stopped parts of the check (qemu-img exits 1).</summary>
    public long CheckErrors { get; set; }
    /// <summary>Refcounts lower than the references, and other damage (qemu-img exits 2).</summary>
    public long Corruptions { get; set; }
    /// <summary>Clusters whose refcount is higher than their references (qemu-img exits 3).</summary>
    public long Leaks { get; set; }
    /// <summary>Corruptions a repair fixed.</summary>
    public long CorruptionsFixed { get; set; }
    /// <summary>Leaks a repair fixed.</summary>
    public long LeaksFixed { get; set; }
    /// <summary>Offset just past the last cluster in use (<c>image-end-offset</c>).</summary>
    public long ImageEndOffset { get; set; }
    /// <summary>Clusters of guest space (<c>total-clusters</c>).</summary>
    public long TotalClusters { get; set; }
    /// <summary>Guest clusters allocated in the image (<c>allocated-clusters</c>).</summary>
    public long AllocatedClusters { get; set; }
    /// <summary>Allocated clusters not right after the previous one in the file (<c>fragmented-clusters</c>).</summary>
    public long FragmentedClusters { get; set; }
    /// <summary>Clusters stored compressed (<c>compressed-clusters</c>).</summary>
    public long CompressedClusters { get; set; }

    /// <summary>Diagnostics in the order they were found ("ERROR cluster 5 refcount=0 reference=1", ...), bounded.</summary>
    public CheckMessages Messages { get; } = new();

    /// <summary>A copy of the tallies (messages are not copied).</summary>
    public CheckCounts CopyCounts() => new()
    {
        CheckErrors = CheckErrors,
        Corruptions = Corruptions,
        Leaks = Leaks,
        CorruptionsFixed = CorruptionsFixed,
        LeaksFixed = LeaksFixed,
        ImageEndOffset = ImageEndOffset,
        TotalClusters = TotalClusters,
        AllocatedClusters = AllocatedClusters,
        FragmentedClusters = FragmentedClusters,
        CompressedClusters = CompressedClusters,
    };

    /// <summary>Takes over the tallies of <paramref name="other"/>, keeping this pass's messages.</summary>
    public void SetCounts(CheckCounts other)
    {
        CheckErrors = other.CheckErrors;
        Corruptions = other.Corruptions;
        Leaks = other.Leaks;
        CorruptionsFixed = other.CorruptionsFixed;
        LeaksFixed = other.LeaksFixed;
        ImageEndOffset = other.ImageEndOffset;
        TotalClusters = other.TotalClusters;
        AllocatedClusters = other.AllocatedClusters;
        FragmentedClusters = other.FragmentedClusters;
        CompressedClusters = other.CompressedClusters;
    }
}
