using System.Buffers.Binary;

namespace DiskImage.Tests.Formats.Bochs;

/// <summary>
/// Writes Bochs "growing" redolog images (versions 1 and 2) for the tests, since no installed tool makes them: the
/// header, a catalog with the extents in reverse order of their guest position (so a reader that ignores the catalog
/// fails), and for each extent holding non-zero data a bitmap with a bit for each non-zero sector and the sectors.
/// Zero sectors of an allocated extent are left out of the bitmap unless <c>markZeroSectors</c> is set.
/// </summary>
internal static class BochsTestImage
{
    public const int CatalogOffset = 72;
    public const int BitmapSizeOffset = 76;
    public const int ExtentSizeOffset = 80;

    /// <summary>The disk size's place: version 1 keeps it four bytes earlier than version 2.</summary>
    public static int DiskSizeOffset(int version) => version == 1 ? 84 : 88;

    public static byte[] Create(ReadOnlySpan<byte> content, int version = 2, int extentSize = 32768, bool markZeroSectors = false, uint? catalogEntries = null)
    {
        const int sector = 512;
        var extents = (content.Length + extentSize - 1) / extentSize;
        var catalog = catalogEntries ?? (uint)extents;
        var sectorsPerExtent = extentSize / sector;
        var bitmapSize = (sectorsPerExtent + 7) / 8;
        var bitmapBlocks = (bitmapSize + sector - 1) / sector;
        var slotSize = (long)(bitmapBlocks + sectorsPerExtent) * sector;
        var dataOffset = sector + (4 * (long)catalog);

        var allocated = new List<int>();
        for (var e = extents - 1; e >= 0; e--)
        {
            var start = e * extentSize;
            if (content[start..Math.Min(content.Length, start + extentSize)].ContainsAnyExcept((byte)0))
            {
                allocated.Add(e);
            }
        }

        var image = new byte[dataOffset + (allocated.Count * slotSize)];
        "Bochs Virtual HD Image"u8.CopyTo(image);
        "Redolog"u8.CopyTo(image.AsSpan(32));
        "Growing"u8.CopyTo(image.AsSpan(48));
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(64), version == 1 ? 0x00010000u : 0x00020000u);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(68), sector);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(CatalogOffset), catalog);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(BitmapSizeOffset), (uint)bitmapSize);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(ExtentSizeOffset), (uint)extentSize);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(DiskSizeOffset(version)), (ulong)content.Length);
        for (var i = 0; i < catalog; i++)
        {
            var slot = allocated.IndexOf(i);
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(sector + (4 * i)), slot < 0 ? 0xFFFFFFFF : (uint)slot);
        }

        for (var slot = 0; slot < allocated.Count; slot++)
        {
            var slotStart = dataOffset + (slot * slotSize);
            for (var s = 0; s < sectorsPerExtent; s++)
            {
                var guest = ((long)allocated[slot] * extentSize) + (s * sector);
                if (guest >= content.Length)
                {
                    break;
                }

                var data = content.Slice((int)guest, (int)Math.Min(sector, content.Length - guest));
                if (markZeroSectors || data.ContainsAnyExcept((byte)0))
                {
                    image[slotStart + (s / 8)] |= (byte)(1 << (s % 8));
                    data.CopyTo(image.AsSpan((int)(slotStart + ((bitmapBlocks + s) * sector))));
                }
            }
        }

        return image;
    }
}
