using DiskImage.Formats;
using DiskImage.IO;
using DiskImage.Operations.Map;

namespace DiskImage.Operations;

/// <summary>
/// Block status through a whole backing chain: where a layer says <see cref="ExtentKind.Unallocated"/>
/// the layers beneath are asked. <see cref="ExtentKind.Unallocated"/> in the result means no layer holds
/// the range, so it reads as zeroes.
/// </summary>
internal static class ChainExtents
{
    /// <summary>
    /// Resolved extents covering <c>[offset, offset + length)</c> of <paramref name="image"/>: the chain walk of
    /// <see cref="ChainBlockStatus"/> without the depths, adjacent extents of one kind merged.
    /// </summary>
    public static List<Extent> Resolve(IDiskImage image, long offset, long length)
    {
        var result = new List<Extent>();
        foreach (var extent in ChainBlockStatus.GetExtents(image, offset, length))
        {
            HostFile.Add(result, new Extent(extent.Offset, extent.Length, extent.Kind));
        }

        return result;
    }

    /// <summary>
    /// What decides the content at <paramref name="offset"/>, as QEMU's map asks it: the first layer from the
    /// top whose status is data or zero, for a run of at most <paramref name="length"/> bytes.
    /// </summary>
    public static MapEntry StatusAt(IDiskImage image, long offset, long length)
    {
        var layer = image;
        var depth = 0;
        while (true)
        {
            var status = LayerStatus.Of(layer, offset, length);
            length = status.Length;
            if (status.Data || status.Zero || layer.Backing is null)
            {
                return new MapEntry(offset, length, depth, status.Allocated, status.Zero, status.Data, status.HostOffset,
                    status.HostOffset is null ? null : status.HostFileName ?? layer.FilePath);
            }

            layer = layer.Backing;
            depth++;
        }
    }
}
