namespace DiskImage.Formats.Vmdk;

/// <summary>The <c>format-specific</c> data <c>qemu-img info</c> prints for vmdk (<c>type: "vmdk"</c>).</summary>
public sealed record VmdkSpecificInfo() : FormatSpecificInfo("vmdk")
{
    /// <summary><c>cid</c>: the content ID of this image.</summary>
    public required uint Cid { get; init; }

    /// <summary><c>parent-cid</c>: the parent's content ID when this image was made (0xffffffff: no parent).</summary>
    public required uint ParentCid { get; init; }

    /// <summary><c>create-type</c>: monolithicSparse, streamOptimized, monolithicFlat, twoGbMaxExtentSparse, ...</summary>
    public required string CreateType { get; init; }

    /// <summary><c>extents</c>, in guest order.</summary>
    public required IReadOnlyList<VmdkExtentInfo> Extents { get; init; }
}

/// <summary>One entry of <c>extents</c>.</summary>
/// <param name="Compressed"><c>compressed</c>: true for stream-optimized extents, null (not printed) otherwise.</param>
/// <param name="VirtualSize"><c>virtual-size</c> in bytes.</param>
/// <param name="Filename"><c>filename</c>: the extent file as it was opened.</param>
/// <param name="ClusterSize"><c>cluster-size</c>: the grain size; null for flat extents.</param>
/// <param name="Format"><c>format</c>: the descriptor's extent type (FLAT, SPARSE, VMFS, ...), "" for a monolithic sparse file.</param>
public sealed record VmdkExtentInfo(bool? Compressed, long VirtualSize, string Filename, long? ClusterSize, string Format);
