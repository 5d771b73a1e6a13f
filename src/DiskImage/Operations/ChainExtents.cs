using DiskImage.Formats;
using DiskImage.IO;

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
