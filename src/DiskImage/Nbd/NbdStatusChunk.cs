using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Nbd;

/// <summary>Builds the payload of a <c>BLOCK_STATUS</c> chunk for one meta context from chain extents.</summary>
internal static class NbdStatusChunk
{
    /// <summary>At most this many descriptors per chunk; the client asks again for the rest.</summary>
    private const int MaxDescriptors = 1 << 16;

    /// <summary><c>base:allocation</c>: data is 0, anything that reads as zero without data is a zero hole (as qemu-nbd says).</summary>
    public static uint BaseAllocation(ChainExtent extent) =>
        extent.Kind == ExtentKind.Data ? (uint)NbdAllocationFlags.Data : (uint)(NbdAllocationFlags.Hole | NbdAllocationFlags.Zero);

    /// <summary><c>qemu:allocation-depth</c>: 0 when no layer holds the run, else the 1-based layer that does.</summary>
    public static uint Depth(ChainExtent extent) => extent.Kind == ExtentKind.Unallocated ? 0u : (uint)extent.Depth + 1;

    public static byte[] Build(uint contextId, IReadOnlyList<ChainExtent> extents, bool onlyOne, Func<ChainExtent, uint> flagsOf)
    {
        var runs = new List<(long Length, uint Flags)>();
        foreach (var extent in extents)
        {
            var flags = flagsOf(extent);
            if (runs.Count > 0 && runs[^1].Flags == flags)
            {
                runs[^1] = (runs[^1].Length + extent.Length, flags);
            }
            else if (runs.Count >= (onlyOne ? 1 : MaxDescriptors))
            {
                break;
            }
            else
            {
                runs.Add((extent.Length, flags));
            }
        }

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
