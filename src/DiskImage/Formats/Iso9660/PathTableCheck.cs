using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// Cross-checks a volume's type L (little-endian) and type M (big-endian) path tables: they must
/// describe the same directories, or the volume is damaged or crafted.
/// </summary>
internal static class PathTableCheck
{
    /// <summary>Path tables bigger than this are not read (they are only checked, never needed).</summary>
    public const int MaxSize = 16 << 20;

    public static void Verify(IBlockDevice device, VolumeDescriptor volume)
    {
        var size = volume.PathTableSize;
        if (size == 0 || size > MaxSize || volume.TypeLPathTable == 0 || volume.TypeMPathTable == 0)
        {
            return;
        }

        var little = ReadTable(device, volume.TypeLPathTable, size);
        var big = ReadTable(device, volume.TypeMPathTable, size);
        var position = 0;
        while (position + 8 <= little.Length)
        {
            int nameLength = little[position];
            if (nameLength == 0)
            {
                break;
            }

            var entryLength = 8 + nameLength + (nameLength & 1);
            if (position + entryLength > little.Length)
            {
                throw new InvalidImageException($"ISO 9660 path table entry at block {volume.TypeLPathTable} overruns the table", (long)volume.TypeLPathTable * IsoConstants.SectorSize);
            }

            var l = little.AsSpan(position, entryLength);
            var m = big.AsSpan(position, entryLength);
            if (l[0] != m[0] || l[1] != m[1]
                || BinaryPrimitives.ReadUInt32LittleEndian(l[2..]) != BinaryPrimitives.ReadUInt32BigEndian(m[2..])
                || BinaryPrimitives.ReadUInt16LittleEndian(l[6..]) != BinaryPrimitives.ReadUInt16BigEndian(m[6..])
                || !l.Slice(8, nameLength).SequenceEqual(m.Slice(8, nameLength)))
            {
                var offset = ((long)volume.TypeLPathTable * IsoConstants.SectorSize) + position;
                throw new InvalidImageException($"ISO 9660 type L and type M path tables disagree at entry offset {position}", offset);
            }

            position += entryLength;
        }
    }

    private static byte[] ReadTable(IBlockDevice device, uint block, uint size)
    {
        var start = (long)block * IsoConstants.SectorSize;
        if (start + size > device.Length)
        {
            throw new InvalidImageException($"ISO 9660 path table at block {block} ({size} bytes) lies past the end of the image", start);
        }

        var table = new byte[size];
        device.Read(start, table);
        return table;
    }
}
