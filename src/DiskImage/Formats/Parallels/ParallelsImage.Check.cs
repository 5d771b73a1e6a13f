using System.Globalization;
using DiskImage.Operations.Check;

namespace DiskImage.Formats.Parallels;

public sealed partial class ParallelsImage : IConsistencyCheckable
{
    /// <summary>Repairs clear BAT entries past the end of the file, trim leaked space and clear the in-use mark.</summary>
    bool IConsistencyCheckable.CanRepair => true;

    /// <summary>
    /// QEMU's Parallels check: an image still marked in use is one corruption; a BAT entry past the end of the file is
    /// another (cleared by a repair of errors); file space past the last cluster is leaked (cut off by a repair of
    /// leaks, counted in clusters). The lines are QEMU's, in its order.
    /// </summary>
    CheckCounts IConsistencyCheckable.Check(CheckRepair repair)
    {
        var fixErrors = (repair & CheckRepair.Errors) != 0;
        var fixLeaks = (repair & CheckRepair.Leaks) != 0;
        if (repair != CheckRepair.None)
        {
            CheckWritable();
        }

        lock (_lock)
        {
            var counts = new CheckCounts { TotalClusters = _bat.Count };
            var size = _file.Length;
            if (_unclean)
            {
                counts.Messages.Add($"{(fixErrors ? "Repairing" : "ERROR")} image was not closed correctly");
                counts.Corruptions++;
                if (fixErrors)
                {
                    // Close clears the mark.
                    counts.CorruptionsFixed++;
                    _unclean = false;
                }
            }

            long highOffset = 0, previous = 0;
            var cleared = new List<uint>();
            foreach (var (index, value) in _bat.All())
            {
                var offset = (long)value * _header.OffsetMultiplier * ParallelsHeader.SectorSize;
                if (offset == 0)
                {
                    previous = 0;
                    continue;
                }

                if (offset > size)
                {
                    counts.Messages.Add(string.Create(CultureInfo.InvariantCulture, $"{(fixErrors ? "Repairing" : "ERROR")} cluster {index} is outside image"));
                    counts.Corruptions++;
                    if (fixErrors)
                    {
                        previous = 0;
                        cleared.Add(index);
                        counts.CorruptionsFixed++;
                        continue;
                    }
                }

                counts.AllocatedClusters++;
                highOffset = Math.Max(highOffset, offset);
                if (previous != 0 && previous + ClusterSize != offset)
                {
                    counts.FragmentedClusters++;
                }

                previous = offset;
            }

            foreach (var index in cleared)
            {
                _bat.Set(index, 0);
            }

            if (cleared.Count > 0)
            {
                _file.Flush();
            }

            counts.ImageEndOffset = highOffset + ClusterSize;
            if (size > counts.ImageEndOffset)
            {
                var leaked = size - counts.ImageEndOffset;
                var clusters = (leaked + ClusterSize - 1) / ClusterSize;
                counts.Messages.Add(string.Create(CultureInfo.InvariantCulture, $"{(fixLeaks ? "Repairing" : "ERROR")} space leaked at the end of the image {leaked}"));
                counts.Leaks += clusters;
                if (fixLeaks)
                {
                    _file.SetLength(counts.ImageEndOffset);
                    counts.LeaksFixed += clusters;
                }
            }

            return counts;
        }
    }
}
