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
    /// <summary>Resolved extents covering <c>[offset, offset + length)</c> of <paramref name="image"/>.</summary>
    public static List<Extent> Resolve(IDiskImage image, long offset, long length)
    {
        var result = new List<Extent>();
        Append(result, image, offset, length);
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
                    status.HostOffset is null ? null : layer.FilePath);
            }

            layer = layer.Backing;
            depth++;
        }
    }

    private static void Append(List<Extent> result, IDiskImage image, long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        foreach (var extent in image.GetExtents(offset, length))
        {
            var backing = image.Backing;
            if (extent.Kind != ExtentKind.Unallocated || backing is null)
            {
                HostFile.Add(result, extent);
                continue;
            }

            // A backing file shorter than its overlay reads as zeroes past its end.
            var inBacking = Math.Clamp(backing.Length - extent.Offset, 0, extent.Length);
            Append(result, backing, extent.Offset, inBacking);
            HostFile.Add(result, new Extent(extent.Offset + inBacking, extent.Length - inBacking, ExtentKind.Unallocated));
        }
    }
}
