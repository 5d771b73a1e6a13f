namespace DiskImage.Formats.Iso9660;

/// <summary>Fixed numbers of ECMA-119 (ISO 9660) that every part of the reader and builder shares.</summary>
internal static class IsoConstants
{
    /// <summary>Logical sector and block size; the only one CD-ROM images use in practice.</summary>
    public const int SectorSize = 2048;

    /// <summary>Sectors 0-15 are the system area; volume descriptors start at sector 16.</summary>
    public const int FirstDescriptorSector = 16;

    /// <summary>Byte offset of the first volume descriptor (32 KiB).</summary>
    public const long FirstDescriptorOffset = FirstDescriptorSector * SectorSize;

    /// <summary>A descriptor set longer than this is treated as hostile.</summary>
    public const int MaxDescriptors = 64;

    /// <summary>"CD001", the standard identifier of every volume descriptor.</summary>
    public static ReadOnlySpan<byte> StandardIdentifier => "CD001"u8;

    /// <summary>Deepest directory nesting the reader follows before declaring the image hostile.</summary>
    public const int MaxDirectoryDepth = 1024;

    /// <summary>Cap on directory records read in one walk, so a crafted image cannot exhaust memory.</summary>
    public const int MaxRecordsPerWalk = 10_000_000;

    /// <summary>Largest file section one directory record can describe (a multiple of the sector size below 4 GiB).</summary>
    public const long MaxExtentSize = 0xFFFFF800;
}
