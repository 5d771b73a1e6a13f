using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>alloc offset [count]</c> and <c>map</c>: what this layer of the image holds (data or zeroes of its own)
/// as against what it leaves to its backing file, as qemu's <c>bdrv_is_allocated</c> answers.
/// </summary>
internal static class AllocationCommands
{
    public static readonly QemuIoCommandInfo Alloc = new("alloc", "a", "offset [count]", "checks if offset is allocated in the file", 1, 2, RunAlloc);

    public static readonly QemuIoCommandInfo Map = new("map", null, "", "prints the allocated areas of a file", 0, 0, RunMap);

    private static int RunAlloc(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        if (QemuIoArguments.Number(words[1], output) is not { } offset)
        {
            return QemuIoErrno.EINVAL;
        }

        long count = 512;
        if (words.Length == 3)
        {
            if (QemuIoArguments.Number(words[2], output) is not { } c)
            {
                return QemuIoErrno.EINVAL;
            }

            count = c;
        }

        // Past the end nothing is counted, and the count shrinks to what lies within the image.
        var image = session.Image!;
        count = Math.Max(0, Math.Min(count, image.Length - Math.Min(offset, image.Length)));
        long allocated = 0;
        try
        {
            foreach (var (_, length, isAllocated) in Runs(image, offset, count))
            {
                allocated += isAllocated ? length : 0;
            }
        }
        catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
        {
            output.Out($"is_allocated failed: {QemuIoErrno.Text(QemuIoErrno.From(e))}");
            return QemuIoErrno.From(e);
        }

        output.Out($"{allocated}/{count} bytes allocated at offset {QemuIoText.Size(offset)}");
        return 0;
    }

    private static int RunMap(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        var image = session.Image!;
        if (LengthCommand.NoMedium(image))
        {
            output.Error("Failed to query image length: No medium found");
            return -ErrnoException.ENOMEDIUM;
        }

        try
        {
            foreach (var (offset, length, isAllocated) in Runs(image, 0, image.Length))
            {
                output.Out($"{QemuIoText.Size(length)} (0x{length:x}) bytes {(isAllocated ? "    allocated" : "not allocated")} at offset {QemuIoText.Size(offset)} (0x{offset:x})");
            }
        }
        catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
        {
            output.Error($"Failed to get allocation status: {QemuIoErrno.Text(QemuIoErrno.From(e))}");
            return QemuIoErrno.From(e);
        }

        return 0;
    }

    /// <summary>Runs of allocated and unallocated bytes, neighbours of the same kind merged.</summary>
    private static List<(long Offset, long Length, bool Allocated)> Runs(IDiskImage image, long offset, long count)
    {
        var runs = new List<(long Offset, long Length, bool Allocated)>();
        if (count <= 0)
        {
            return runs;
        }

        foreach (var extent in image.GetExtents(offset, count))
        {
            var allocated = extent.Kind != ExtentKind.Unallocated;
            if (runs.Count > 0 && runs[^1].Allocated == allocated)
            {
                runs[^1] = (runs[^1].Offset, runs[^1].Length + extent.Length, allocated);
            }
            else
            {
                runs.Add((extent.Offset, extent.Length, allocated));
            }
        }

        return runs;
    }
}
