using System.Buffers.Binary;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// ECMA-119 "both-byte orders" fields: the value stored little-endian, then big-endian. The reader
/// insists both halves agree, since a disagreement means the structure is damaged or crafted.
/// </summary>
internal static class BothEndian
{
    public static uint ReadUInt32(ReadOnlySpan<byte> field, string what, long fileOffset)
    {
        var little = BinaryPrimitives.ReadUInt32LittleEndian(field);
        var big = BinaryPrimitives.ReadUInt32BigEndian(field[4..]);
        if (little != big)
        {
            throw new InvalidImageException($"ISO 9660 {what} disagrees between byte orders ({little} vs {big}) at offset {fileOffset}", fileOffset);
        }

        return little;
    }

    public static ushort ReadUInt16(ReadOnlySpan<byte> field, string what, long fileOffset)
    {
        var little = BinaryPrimitives.ReadUInt16LittleEndian(field);
        var big = BinaryPrimitives.ReadUInt16BigEndian(field[2..]);
        if (little != big)
        {
            throw new InvalidImageException($"ISO 9660 {what} disagrees between byte orders ({little} vs {big}) at offset {fileOffset}", fileOffset);
        }

        return little;
    }

    public static void WriteUInt32(Span<byte> field, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(field, value);
        BinaryPrimitives.WriteUInt32BigEndian(field[4..], value);
    }

    public static void WriteUInt16(Span<byte> field, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(field, value);
        BinaryPrimitives.WriteUInt16BigEndian(field[2..], value);
    }
}
