namespace DiskImage.Operations.Check;

/// <summary>
/// The tallies of one consistency check pass, named as QEMU's <c>ImageCheck</c> fields, plus the
/// diagnostic lines the pass produced (qemu-img prints them on stderr).
/// </summary>
public sealed class CheckCounts
{
    public long CheckErrors { get; set; }
    public long Corruptions { get; set; }
    public long Leaks { get; set; }
    public long CorruptionsFixed { get; set; }
    public long LeaksFixed { get; set; }
    public long ImageEndOffset { get; set; }
    public long TotalClusters { get; set; }
    public long AllocatedClusters { get; set; }
    public long FragmentedClusters { get; set; }
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
