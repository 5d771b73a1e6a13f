using DiskImage.Formats;
using DiskImage.Formats.Raw;

namespace DiskImage.Operations.Conversion;

/// <summary>The opened target and what the copy may assume about it.</summary>
/// <param name="Image">The target image, open for writing.</param>
/// <param name="StartsZeroed">The target reads as zeroes before the copy (freshly created, or <c>--target-is-zero</c>).</param>
/// <param name="Compressor">Where compressed clusters go; null unless <c>-c</c>.</param>
internal sealed record CopyTarget(IDiskImage Image, bool StartsZeroed, ICompressedClusterWriter? Compressor)
{
    /// <summary>The raw file under a raw target, for in-kernel copies; null for other formats.</summary>
    public IO.HostFile? RawFile => (Image as RawImage)?.File as IO.HostFile;

    /// <summary>
    /// Granularity of zero detection: the target's cluster (so qcow2 clusters are written whole), else a sector.
    /// Blocks that stay holes where unwritten (VHDX, VHD) are written like raw, so zeroes take no space, as in qemu-img.
    /// </summary>
    public int ZeroUnit { get; } = Math.Max(512, Compressor?.ClusterSize ?? (Image is IBlockMap { NewBlocksAreSparse: true } ? null : AllocationUnit(Image)) ?? 512);

    /// <summary>
    /// The unit the target allocates in: its cluster, or with extended L2 entries its subcluster (a 32nd of the
    /// cluster), which qemu-img's zero detection follows, so zero subclusters stay unallocated.
    /// </summary>
    private static int? AllocationUnit(IDiskImage image)
    {
        var info = image.GetInfo();
        return info.FormatSpecific is Formats.Qcow2.Qcow2SpecificInfo { ExtendedL2: true } ? info.ClusterSize / 32 : info.ClusterSize;
    }
}
