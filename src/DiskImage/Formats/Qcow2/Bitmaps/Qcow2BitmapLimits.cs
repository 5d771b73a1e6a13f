namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>The numbers of the qcow2 bitmaps extension and the limits QEMU enforces on them.</summary>
internal static class Qcow2BitmapLimits
{
    public const int ExtensionLength = 24;
    public const uint MaxBitmaps = 65535;

    /// <summary>QCOW2_MAX_BITMAP_DIRECTORY_SIZE: 1 KiB per bitmap (65535 of them).</summary>
    public const long MaxDirectoryBytes = 1024L * 65535;

    public const int DirectoryEntryHeaderSize = 24;
    public const int MaxNameBytes = 1023;
    public const int MinGranularityBits = 9;
    public const int MaxGranularityBits = 31;

    /// <summary>BME_MAX_TABLE_SIZE: entries of one bitmap table.</summary>
    public const int MaxTableEntries = 0x8000000;

    /// <summary>BME_MAX_PHYS_SIZE: bytes of bitmap data one bitmap may have.</summary>
    public const long MaxDataBytes = 0x20000000;

    public const byte TypeDirtyTracking = 1;
    public const uint FlagInUse = 1;
    public const uint FlagAuto = 2;
    public const uint ReservedFlags = 0xfffffffc;

    public const ulong TableEntryReservedMask = 0xff000000000001feUL;
    public const ulong TableEntryOffsetMask = 0x00fffffffffffe00UL;
    public const ulong TableEntryAllOnes = 1;

    public static int EntrySize(int nameBytes) => (DirectoryEntryHeaderSize + nameBytes + 7) & ~7;

    /// <summary>Bytes of serialized bitmap data for an image of <paramref name="length"/> bytes: whole 64-bit words of bits.</summary>
    public static long DataBytes(long length, int granularityBits)
    {
        var bits = (length + (1L << granularityBits) - 1) >> granularityBits;
        return ((bits + 63) / 64) * 8;
    }

    /// <summary>Entries the bitmap table of such a bitmap has: one per cluster of data.</summary>
    public static long TableEntries(long length, int granularityBits, int clusterSize) =>
        (DataBytes(length, granularityBits) + clusterSize - 1) / clusterSize;
}
