using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Nbd;

/// <summary>Builds the payload of a <c>BLOCK_STATUS</c> chunk for one meta context.</summary>
internal static class NbdStatusChunk
{
    /// <summary>At most this many descriptors per chunk (qemu-nbd's 1 MiB of them); the client asks again for the rest.</summary>
    private const int MaxDescriptors = (1 << 20) / 8;

    /// <summary><c>qemu:dirty-bitmap:NAME</c>: NBD_STATE_DIRTY.</summary>
    private const uint Dirty = 1;

    /// <summary><c>base:allocation</c>: data is 0, anything that reads as zero without data is a zero hole (as qemu-nbd says).</summary>
    public static uint BaseAllocation(ChainExtent extent) =>
        extent.Kind == ExtentKind.Data ? (uint)NbdAllocationFlags.Data : (uint)(NbdAllocationFlags.Hole | NbdAllocationFlags.Zero);

    /// <summary><c>qemu:allocation-depth</c>: 0 when no layer holds the run, else the 1-based layer that does.</summary>
    public static uint Depth(ChainExtent extent) => extent.Kind == ExtentKind.Unallocated ? 0u : (uint)extent.Depth + 1;

    public static byte[] Build(uint contextId, IReadOnlyList<ChainExtent> extents, bool onlyOne, Func<ChainExtent, uint> flagsOf)
    {
        var runs = new List<(long Length, uint Flags)>();
        var max = onlyOne ? 1 : MaxDescriptors;
        foreach (var extent in extents)
        {
            if (!TryAdd(runs, extent.Length, flagsOf(extent), max))
            {
                break;
            }
        }

        return Serialize(contextId, runs);
    }

    /// <summary>
    /// A dirty bitmap's runs over the request, as qemu-nbd's <c>bitmap_to_extents</c> makes them: clean (0) and dirty
    /// (1) runs alternating, the first dirty one starting at the request's offset when that granule is dirty.
    /// </summary>
    public static byte[] Bitmap(NbdExportBitmap bitmap, long offset, long length, bool onlyOne)
    {
        var runs = new List<(long Length, uint Flags)>();
        var max = onlyOne ? 1 : MaxDescriptors;
        var start = offset;
        var end = offset + length;
        var full = false;
        while (bitmap.Bits.NextDirtyArea(start, end, int.MaxValue, out var dirtyStart, out var dirtyLength))
        {
            if (!TryAdd(runs, dirtyStart - start, 0, max) || !TryAdd(runs, dirtyLength, Dirty, max))
            {
                full = true;
                break;
            }

            start = dirtyStart + dirtyLength;
        }

        if (!full)
        {
            TryAdd(runs, end - start, 0, max);
        }

        return Serialize(bitmap.ContextId, runs);
    }

    /// <summary>qemu's <c>nbd_extent_array_add</c>: merges with the last run of the same flags; false once full.</summary>
    private static bool TryAdd(List<(long Length, uint Flags)> runs, long length, uint flags, int max)
    {
        if (length <= 0)
        {
            return true;
        }

        if (runs.Count > 0 && runs[^1].Flags == flags && runs[^1].Length + length <= uint.MaxValue)
        {
            runs[^1] = (runs[^1].Length + length, flags);
            return true;
        }

        if (runs.Count >= max)
        {
            return false;
        }

        runs.Add((length, flags));
        return true;
    }

    private static byte[] Serialize(uint contextId, List<(long Length, uint Flags)> runs)
    {
        var payload = new byte[4 + (8 * runs.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(payload, contextId);
        for (var i = 0; i < runs.Count; i++)
        {
            // Request lengths are 32-bit, so every run fits.
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4 + (8 * i)), (uint)runs[i].Length);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8 + (8 * i)), runs[i].Flags);
        }

        return payload;
    }
}
