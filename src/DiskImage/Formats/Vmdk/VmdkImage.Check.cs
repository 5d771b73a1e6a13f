using System.Globalization;
using DiskImage.Operations.Check;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// <c>qemu-img check</c> for vmdk, as QEMU does it: every grain's location is looked up, and the first one
/// that cannot be found or lies past the end of its extent file stops the check. There is no repair.
/// </summary>
public sealed partial class VmdkImage
{
    internal CheckCounts Check(CheckRepair repair)
    {
        if (repair != CheckRepair.None)
        {
            throw new UnsupportedFeatureException("This image format does not support checks");
        }

        var counts = new CheckCounts();
        var totalSectors = Length / VmdkConstants.SectorSize;
        var sector = 0L;
        var index = 0;
        while (sector < totalSectors)
        {
            index = FindExtent(sector * VmdkConstants.SectorSize, index);
            var extent = _extents[index];
            VmdkGrain grain;
            try
            {
                grain = extent.Lookup(sector * VmdkConstants.SectorSize - extent.Start);
            }
            catch (InvalidImageException)
            {
                counts.Corruptions++;
                counts.Messages.Add(string.Create(CultureInfo.InvariantCulture, $"ERROR: could not get cluster_offset for sector {sector}"));
                throw new CheckFailedException("Operation not permitted", counts);
            }

            if (grain.State == VmdkGrainState.Data && grain.HostOffset >= extent.File.Length)
            {
                counts.Corruptions++;
                counts.Messages.Add(string.Create(CultureInfo.InvariantCulture, $"ERROR: cluster offset for sector {sector} points after EOF"));
                throw new CheckFailedException("Invalid argument", counts);
            }

            // Unallocated runs without a grain table are skipped whole; the outcome is the same.
            var step = grain.State == VmdkGrainState.Unallocated && !extent.Flat ? Math.Max(extent.ClusterSectors, grain.Length / VmdkConstants.SectorSize) : extent.ClusterSectors;
            sector += step;
        }

        return counts;
    }
}
