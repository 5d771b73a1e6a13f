using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// An image whose guest data lies in its own file at offsets <c>map</c> reports (QEMU's
/// <c>BDRV_BLOCK_OFFSET_VALID</c>). Formats other than qcow2 and raw implement it to get qemu-img's map.
/// </summary>
internal interface IHostMappedImage
{
    /// <summary>The container the host offsets refer to.</summary>
    IStorage Storage { get; }

    /// <summary>Status of the run starting at <paramref name="offset"/>, at most <paramref name="length"/> bytes long.</summary>
    HostMapping MapRun(long offset, long length);

    /// <summary>Block status of a range as <see cref="IBlockDevice.GetExtents"/> gives it: the runs, neighbours of one kind merged.</summary>
    static IReadOnlyList<Extent> ExtentsOf(IHostMappedImage image, long offset, long length)
    {
        var extents = new List<Extent>();
        var end = offset + length;
        while (offset < end)
        {
            var run = image.MapRun(offset, end - offset);
            HostFile.Add(extents, new Extent(offset, run.Length, run.Kind));
            offset += run.Length;
        }

        return extents;
    }
}

/// <summary>One run of <see cref="IHostMappedImage.MapRun"/>.</summary>
/// <param name="Length">Bytes covered (positive).</param>
/// <param name="Kind">Data, zero, or unallocated (the backing file shows through).</param>
/// <param name="HostOffset">File offset of the run's first byte when it is stored in the file.</param>
/// <param name="Mode">Whether, and how, the file's own holes refine the status.</param>
internal readonly record struct HostMapping(long Length, ExtentKind Kind, long? HostOffset, HostMappingMode Mode = HostMappingMode.Exact);

/// <summary>How QEMU's generic block status combines a format's answer with the file's.</summary>
internal enum HostMappingMode
{
    /// <summary>The format's answer stands.</summary>
    Exact,

    /// <summary>Data whose file holes read as zero: data stays set, zero is added (<c>BDRV_BLOCK_RECURSE</c>).</summary>
    FileZeroes,

    /// <summary>The file's own status replaces the format's (<c>BDRV_BLOCK_RAW</c>, a fixed-size disk).</summary>
    File,
}
