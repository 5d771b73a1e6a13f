using DiskImage.Formats;

namespace DiskImage.IO;

/// <summary>A run of guest bytes that either must be read or reads as zeroes without being read.</summary>
internal readonly record struct ContentRun(long Offset, long Length, bool ReadsAsZero)
{
    public long End => Offset + Length;
}

/// <summary>
/// Which ranges of a device hold data, asked in windows so a heavily fragmented image never needs its whole
/// extent list in memory. An opened image is asked through its backing chain (an unallocated range may
/// read from a backing file); a bare device has no backing, so its unallocated ranges read as zeroes.
/// </summary>
internal static class ContentRuns
{
    private const long WindowSize = 1L << 30;

    public static IEnumerable<ContentRun> Of(IBlockDevice device, long start, long end)
    {
        for (var offset = start; offset < end;)
        {
            var length = Math.Min(WindowSize, end - offset);
            var covered = offset;
            foreach (var (runOffset, runLength, zero) in Ask(device, offset, length))
            {
                // Bound what the driver returned, so a faulty one cannot make us loop or go back.
                var from = Math.Max(runOffset, covered);
                var to = Math.Min(runOffset + runLength, offset + length);
                if (to <= from)
                {
                    continue;
                }

                if (from > covered)
                {
                    yield return new ContentRun(covered, from - covered, false);
                }

                yield return new ContentRun(from, to - from, zero);
                covered = to;
            }

            if (covered < offset + length)
            {
                // A short answer: read the rest rather than guess it is zero.
                yield return new ContentRun(covered, offset + length - covered, false);
            }

            offset += length;
        }
    }

    private static IEnumerable<(long Offset, long Length, bool ReadsAsZero)> Ask(IBlockDevice device, long offset, long length)
    {
        if (device is IDiskImage image)
        {
            foreach (var extent in ChainBlockStatus.GetExtents(image, offset, length))
            {
                yield return (extent.Offset, extent.Length, extent.ReadsAsZero);
            }
        }
        else
        {
            foreach (var extent in device.GetExtents(offset, length))
            {
                yield return (extent.Offset, extent.Length, extent.Kind != ExtentKind.Data);
            }
        }
    }
}
