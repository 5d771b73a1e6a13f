using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// Reads an El Torito boot catalog: the validation entry (checksum, 55 AA key), the default entry,
/// then section headers each followed by their section entries.
/// </summary>
internal static class ElToritoCatalog
{
    public const int EntrySize = 32;

    /// <summary>"EL TORITO SPECIFICATION" in a boot record's boot system identifier.</summary>
    public static ReadOnlySpan<byte> BootSystemId => "EL TORITO SPECIFICATION"u8;

    /// <summary>Offset of the catalog's block number in the boot record volume descriptor.</summary>
    public const int CatalogPointerOffset = 0x47;

    /// <summary>Catalogs longer than this many sectors are treated as hostile.</summary>
    public const int MaxSectors = 16;

    private const byte HeaderId = 0x01;
    private const byte Bootable = 0x88;
    private const byte SectionHeaderMore = 0x90;
    private const byte SectionHeaderFinal = 0x91;
    private const byte ExtensionEntry = 0x44;
    private const byte ExtensionFollows = 0x20;

    public static bool IsElToritoBootRecord(ReadOnlySpan<byte> sector) => sector[7..].StartsWith(BootSystemId);

    public static IReadOnlyList<ElToritoBootEntry> Read(IBlockDevice device, uint catalogLba)
    {
        var start = (long)catalogLba * IsoConstants.SectorSize;
        if (start + IsoConstants.SectorSize > device.Length)
        {
            throw new InvalidImageException($"El Torito boot catalog at block {catalogLba} lies outside the image", start);
        }

        var sectors = (int)Math.Min(MaxSectors, (device.Length - start) / IsoConstants.SectorSize);
        var catalog = new byte[sectors * IsoConstants.SectorSize];
        device.Read(start, catalog);
        return Parse(catalog, start);
    }

    public static IReadOnlyList<ElToritoBootEntry> Parse(ReadOnlySpan<byte> catalog, long fileOffset)
    {
        var validation = catalog[..EntrySize];
        if (validation[0] != HeaderId || validation[30] != 0x55 || validation[31] != 0xAA)
        {
            throw new InvalidImageException($"El Torito validation entry at offset {fileOffset} is missing its header or 55 AA key", fileOffset);
        }

        if (Checksum(validation) != 0)
        {
            throw new InvalidImageException($"El Torito validation entry at offset {fileOffset} has a bad checksum", fileOffset);
        }

        var entries = new List<ElToritoBootEntry> { ParseEntry(catalog.Slice(EntrySize, EntrySize), validation[1]) };
        var position = 2 * EntrySize;
        while (position + EntrySize <= catalog.Length)
        {
            var header = catalog.Slice(position, EntrySize);
            if (header[0] is not (SectionHeaderMore or SectionHeaderFinal))
            {
                break;
            }

            var platform = header[1];
            int count = BinaryPrimitives.ReadUInt16LittleEndian(header[2..]);
            position += EntrySize;
            for (var i = 0; i < count && position + EntrySize <= catalog.Length; i++)
            {
                var entry = catalog.Slice(position, EntrySize);
                entries.Add(ParseEntry(entry, platform));
                position += EntrySize;
                var extends = (entry[1] & ExtensionFollows) != 0;
                while (extends && position + EntrySize <= catalog.Length && catalog[position] == ExtensionEntry)
                {
                    extends = (catalog[position + 1] & ExtensionFollows) != 0;
                    position += EntrySize;
                }
            }

            if (header[0] == SectionHeaderFinal)
            {
                break;
            }
        }

        return entries;
    }

    /// <summary>Sum of the entry's little-endian 16-bit words; a valid validation entry sums to zero.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> validation)
    {
        ushort sum = 0;
        for (var i = 0; i < EntrySize; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16LittleEndian(validation[i..]);
        }

        return sum;
    }

    private static ElToritoBootEntry ParseEntry(ReadOnlySpan<byte> entry, byte platform) => new()
    {
        Platform = platform,
        Bootable = entry[0] == Bootable,
        Emulation = (ElToritoEmulation)(entry[1] & 0x0F),
        LoadSegment = BinaryPrimitives.ReadUInt16LittleEndian(entry[2..]),
        SystemType = entry[4],
        SectorCount = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]),
        Lba = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]),
    };
}
