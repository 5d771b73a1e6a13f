using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2;

/// <summary>Reads and writes one entry of a refcount block at any width from 1 to 64 bits.</summary>
internal static class Qcow2RefcountBlock
{
    public static ulong Get(ReadOnlySpan<byte> block, int index, int order) => order switch
    {
        3 => block[index],
        4 => BinaryPrimitives.ReadUInt16BigEndian(block[(index * 2)..]),
        5 => BinaryPrimitives.ReadUInt32BigEndian(block[(index * 4)..]),
        6 => BinaryPrimitives.ReadUInt64BigEndian(block[(index * 8)..]),
        _ => GetSubByte(block, index, order),
    };

    public static void Set(Span<byte> block, int index, int order, ulong value)
    {
        switch (order)
        {
            case 3:
                block[index] = (byte)value;
                break;
            case 4:
                BinaryPrimitives.WriteUInt16BigEndian(block[(index * 2)..], (ushort)value);
                break;
            case 5:
                BinaryPrimitives.WriteUInt32BigEndian(block[(index * 4)..], (uint)value);
                break;
            case 6:
                BinaryPrimitives.WriteUInt64BigEndian(block[(index * 8)..], value);
                break;
            default:
                SetSubByte(block, index, order, value);
                break;
        }
    }

    public static ulong MaxValue(int order) => order == 6 ? ulong.MaxValue : (1UL << (1 << order)) - 1;

    private static ulong GetSubByte(ReadOnlySpan<byte> block, int index, int order)
    {
        var bits = 1 << order;
        var bitIndex = index * bits;
        return (ulong)((block[bitIndex >> 3] >> (bitIndex & 7)) & ((1 << bits) - 1));
    }

    private static void SetSubByte(Span<byte> block, int index, int order, ulong value)
    {
        var bits = 1 << order;
        var bitIndex = index * bits;
        var mask = ((1 << bits) - 1) << (bitIndex & 7);
        ref var b = ref block[bitIndex >> 3];
        b = (byte)((b & ~mask) | (((int)value << (bitIndex & 7)) & mask));
    }
}
