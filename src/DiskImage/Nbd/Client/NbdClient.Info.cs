using System.Buffers.Binary;
using System.Numerics;

namespace DiskImage.Nbd.Client;

/// <summary>The export's description in <c>NBD_REP_INFO</c> replies, checked as QEMU's client checks it.</summary>
public sealed partial class NbdClient
{
    /// <summary>
    /// The server's minimum block size (0 when it gave none): block status it reports in smaller pieces is rounded as
    /// QEMU's client rounds it.
    /// </summary>
    public uint MinBlock { get; private set; }

    /// <summary>Takes one <c>NBD_REP_INFO</c> payload; true when it described the export's size and flags.</summary>
    private bool TakeInfo(byte[] data)
    {
        if (data.Length < 2)
        {
            throw new ImageAccessException($"NBD_REP_INFO length {data.Length} is too short");
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(data);
        var length = data.Length - 2;
        if (type == (ushort)NbdInfo.Export)
        {
            if (length != 10)
            {
                throw new ImageAccessException($"remaining export info len {length} is unexpected size");
            }

            var size = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(2));
            if (MinBlock != 0 && size % MinBlock != 0)
            {
                throw new ImageAccessException($"export size {size} is not multiple of minimum block size {MinBlock}");
            }

            if (size > long.MaxValue)
            {
                throw new ImageAccessException("NBD export size is out of range");
            }

            Size = (long)size;
            Flags = (NbdTransmissionFlags)BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(10));
            return true;
        }

        if (type == (ushort)NbdInfo.BlockSize)
        {
            if (length != 12)
            {
                throw new ImageAccessException($"remaining export info len {length} is unexpected size");
            }

            var minimum = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(2));
            if (!BitOperations.IsPow2(minimum))
            {
                throw new ImageAccessException($"server minimum block size {minimum} is not a power of two");
            }

            var preferred = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(6));
            if (!BitOperations.IsPow2(preferred) || preferred < minimum)
            {
                throw new ImageAccessException($"server preferred block size {preferred} is not valid");
            }

            var maximum = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(10));
            if (maximum < minimum)
            {
                throw new ImageAccessException($"server maximum block size {maximum} is not valid");
            }

            MinBlock = minimum;
            MaxPayload = (int)Math.Clamp(maximum, 512u, (uint)NbdConstants.MaxPayload);
        }

        return false;
    }

    /// <summary>
    /// Runs as QEMU's client takes them from a server that reports block status in pieces smaller than its minimum
    /// block (qemu-nbd does for a file whose size it rounded up): up to the first unaligned run, which is cut back to
    /// whole blocks, or, when shorter than one block, widened to one block of plain data (always a safe answer).
    /// </summary>
    private List<(long Length, NbdAllocationFlags Flags)> AlignedToMinBlock(List<(long Length, NbdAllocationFlags Flags)> runs)
    {
        if (MinBlock <= 1)
        {
            return runs;
        }

        for (var i = 0; i < runs.Count; i++)
        {
            var (length, flags) = runs[i];
            if (length % MinBlock != 0)
            {
                runs[i] = length > MinBlock ? (length - (length % MinBlock), flags) : (MinBlock, NbdAllocationFlags.Data);
                runs.RemoveRange(i + 1, runs.Count - i - 1);
                break;
            }
        }

        return runs;
    }
}
