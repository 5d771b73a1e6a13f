using System.Buffers.Binary;

namespace DiskImage.Formats.Bochs;

/// <summary>
/// The 512-byte little-endian header of a Bochs "growing" redolog image: three NUL-terminated names (magic, type,
/// subtype) in fixed fields, a version, then the catalog's place and size, the bitmap and extent sizes and the disk
/// size, which version 1 keeps four bytes earlier than version 2.
/// </summary>
internal sealed record BochsHeader
{
    public const int Size = 512;
    public const uint Version1 = 0x00010000;
    public const uint Version2 = 0x00020000;

    /// <summary>Unallocated catalog entry: the extent reads as zeroes.</summary>
    public const uint Unallocated = 0xFFFFFFFF;

    /// <summary>QEMU's bound on the catalog (enough for the largest image bximage makes).</summary>
    public const uint MaxCatalogEntries = 0x100000;

    /// <summary>QEMU's bound on the extent size (8 MiB).</summary>
    public const uint MaxExtentSize = 0x800000;

    public const int SectorSize = 512;

    private const int MagicOffset = 0;
    private const int TypeOffset = 32;
    private const int SubtypeOffset = 48;
    private const int VersionOffset = 64;
    private const int HeaderSizeOffset = 68;
    private const int CatalogOffset = 72;
    private const int BitmapOffset = 76;
    private const int ExtentOffset = 80;
    private const int DiskSizeV1Offset = 84;
    private const int DiskSizeV2Offset = 88;

    public static ReadOnlySpan<byte> Magic => "Bochs Virtual HD Image\0"u8;

    public static ReadOnlySpan<byte> RedologType => "Redolog\0"u8;

    public static ReadOnlySpan<byte> GrowingSubtype => "Growing\0"u8;

    public uint Version { get; init; }

    /// <summary>Where the catalog starts: the header's own size.</summary>
    public uint HeaderSize { get; init; }

    public uint CatalogEntries { get; init; }

    /// <summary>Bytes of the allocation bitmap in front of each extent.</summary>
    public uint BitmapSize { get; init; }

    /// <summary>Guest bytes per extent.</summary>
    public uint ExtentSize { get; init; }

    /// <summary>The disk size in bytes, as stored (only whole sectors of it count).</summary>
    public ulong DiskSize { get; init; }

    /// <summary>QEMU's check, at probe and at open: the three names, each ended by its NUL, and version 1 or 2.</summary>
    public static bool IsBochs(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= Size
        && bytes[MagicOffset..].StartsWith(Magic)
        && bytes[TypeOffset..].StartsWith(RedologType)
        && bytes[SubtypeOffset..].StartsWith(GrowingSubtype)
        && BinaryPrimitives.ReadUInt32LittleEndian(bytes[VersionOffset..]) is Version1 or Version2;

    public static BochsHeader Parse(ReadOnlySpan<byte> b)
    {
        var version = BinaryPrimitives.ReadUInt32LittleEndian(b[VersionOffset..]);
        return new()
        {
            Version = version,
            HeaderSize = BinaryPrimitives.ReadUInt32LittleEndian(b[HeaderSizeOffset..]),
            CatalogEntries = BinaryPrimitives.ReadUInt32LittleEndian(b[CatalogOffset..]),
            BitmapSize = BinaryPrimitives.ReadUInt32LittleEndian(b[BitmapOffset..]),
            ExtentSize = BinaryPrimitives.ReadUInt32LittleEndian(b[ExtentOffset..]),
            DiskSize = BinaryPrimitives.ReadUInt64LittleEndian(b[(version == Version1 ? DiskSizeV1Offset : DiskSizeV2Offset)..]),
        };
    }

    /// <summary>The guest size: the whole sectors of the stored disk size.</summary>
    public long Sectors => (long)(DiskSize / SectorSize);

    /// <summary>Sectors of one bitmap, in QEMU's 32-bit arithmetic (a zero size wraps to a huge one, as there).</summary>
    public uint BitmapSectors => unchecked(1 + ((BitmapSize - 1) / SectorSize));

    /// <summary>Sectors of one extent's data.</summary>
    public uint ExtentSectors => unchecked(1 + ((ExtentSize - 1) / SectorSize));

    /// <summary>Where the extents start: right after the catalog, in 32-bit arithmetic that wraps as QEMU's.</summary>
    public uint DataOffset => unchecked(HeaderSize + (CatalogEntries * 4));

    /// <summary>QEMU's checks on the sizes, in its order and words; null when the header is usable.</summary>
    public string? SizeError()
    {
        if (ExtentSize < SectorSize)
        {
            return "Extent size must be at least 512";
        }

        if (!uint.IsPow2(ExtentSize))
        {
            return $"Extent size {ExtentSize} is not a power of two";
        }

        if (ExtentSize > MaxExtentSize)
        {
            return $"Extent size {ExtentSize} is too large";
        }

        var sectorsPerExtent = ExtentSize / SectorSize;
        var needed = (Sectors + sectorsPerExtent - 1) / sectorsPerExtent;
        return CatalogEntries < needed ? "Catalog size is too small for this disk size" : null;
    }
}
