namespace DiskImage.Formats.Dmg;

/// <summary>The block types of a "mish" chunk entry, and which of them the image can read.</summary>
internal static class DmgChunkType
{
    /// <summary>Reads as zeroes.</summary>
    public const uint Zero = 0;

    /// <summary>Stored as is.</summary>
    public const uint Raw = 1;

    /// <summary>Reads as zeroes (free space the image skipped).</summary>
    public const uint Ignore = 2;

    /// <summary>zlib-compressed.</summary>
    public const uint Zlib = 0x80000005;

    /// <summary>bzip2-compressed: QEMU reads it only with its dmg-bz2 module, which the judged build lacks.</summary>
    public const uint Bzip2 = 0x80000006;

    /// <summary>lzfse-compressed: QEMU reads it only with its dmg-lzfse module, which the judged build lacks.</summary>
    public const uint Lzfse = 0x80000007;

    /// <summary>A comment entry, skipped.</summary>
    public const uint Comment = 0x7FFFFFFE;

    /// <summary>The last entry of a table, skipped.</summary>
    public const uint Terminator = 0xFFFFFFFF;

    /// <summary>Whether the entry joins the chunk table; other entries are dropped, so their sectors fail to read.</summary>
    public static bool IsReadable(uint type) => type is Zero or Raw or Ignore or Zlib;

    /// <summary>Whether the chunk reads as zeroes without touching the file (and so has no size limit).</summary>
    public static bool ReadsAsZero(uint type) => type is Zero or Ignore;
}
