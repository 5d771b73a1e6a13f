namespace DiskImage.Operations.Measure;

/// <summary>
/// How much space qcow2 metadata takes, computed the way QEMU computes it for <c>measure</c> and for
/// full preallocation, so the figures agree with qemu-img to the byte.
/// </summary>
internal static class Qcow2Layout
{
    private const int L1EntrySize = 8;
    private const int ReftableEntrySize = 8;

    /// <summary>Bytes per L2 entry: 8, or 16 with extended L2 (an allocation bitmap per entry).</summary>
    public static int L2EntrySize(bool extendedL2) => extendedL2 ? 16 : 8;

    /// <summary>
    /// File size of an image with every cluster allocated: one header cluster, every L2 table, the L1
    /// table, the refcount structures covering all of that, and the data itself.
    /// </summary>
    public static long FullyAllocatedSize(long virtualSize, int clusterSize, int refcountOrder, bool extendedL2)
    {
        var l2EntrySize = L2EntrySize(extendedL2);
        var alignedSize = RoundUp(virtualSize, clusterSize);
        long metadata = clusterSize;

        var l2Entries = RoundUp(alignedSize / clusterSize, clusterSize / l2EntrySize);
        metadata += l2Entries * l2EntrySize;

        var l1Entries = RoundUp(l2Entries * l2EntrySize / clusterSize, clusterSize / L1EntrySize);
        metadata += l1Entries * L1EntrySize;

        metadata += RefcountMetadataSize((metadata + alignedSize) / clusterSize, clusterSize, refcountOrder);
        return metadata + alignedSize;
    }

    /// <summary>
    /// Bytes of refcount table and refcount blocks needed to count <paramref name="clusters"/> clusters
    /// plus the refcount structures themselves: iterate to the fixed point where adding them needs no more.
    /// </summary>
    public static long RefcountMetadataSize(long clusters, int clusterSize, int refcountOrder)
    {
        long entriesPerTableCluster = clusterSize / ReftableEntrySize;
        var refcountsPerBlock = (long)clusterSize * 8 / (1L << refcountOrder);
        long table = 0;
        long blocks = 0;
        long total = 0;
        long previous;
        do
        {
            previous = total;
            blocks = DivideRoundingUp(clusters + table + blocks, refcountsPerBlock);
            table = DivideRoundingUp(blocks, entriesPerTableCluster);
            total = clusters + blocks + table;
        }
        while (total != previous);

        return (blocks + table) * clusterSize;
    }

    /// <summary>Number of L2 tables needed to map <paramref name="virtualSize"/> bytes.</summary>
    public static long L2TableCount(long virtualSize, int clusterSize, bool extendedL2) =>
        DivideRoundingUp(RoundUp(virtualSize, clusterSize) / clusterSize, clusterSize / L2EntrySize(extendedL2));

    public static long RoundUp(long value, long alignment) => DivideRoundingUp(value, alignment) * alignment;

    public static long DivideRoundingUp(long value, long divisor) => (value / divisor) + (value % divisor == 0 ? 0 : 1);
}
