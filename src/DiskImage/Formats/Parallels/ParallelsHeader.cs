using System.Buffers.Binary;

namespace DiskImage.Formats.Parallels;

/// <summary>
/// The 64-byte little-endian header of a Parallels expandable image (QEMU's docs/interop/parallels.txt), followed
/// directly by the BAT. Two magics: the old one counts BAT entries and data offsets in sectors and keeps only the low
/// 32 bits of the sector count; the "Ext" one counts BAT entries in clusters.
/// </summary>
internal sealed record ParallelsHeader
{
    public const int Size = 64;
    public const uint Version2 = 2;
    public const uint InUseMagic = 0x746F6E59;
    public const int SectorSize = 512;
    public const int DefaultClusterSize = 1 << 20;

    /// <summary>Geometry qemu-img writes; only informative, the image size is <see cref="Sectors"/>.</summary>
    public const uint Heads = 16;
    public const uint SectorsPerCylinder = 32;

    /// <summary>QEMU's bound on the sectors per cluster: larger clusters overflow its 32-bit byte counts.</summary>
    public const uint MaxTracks = int.MaxValue / 513;

    /// <summary>QEMU's bound on the BAT entries (its BAT is one allocation sized in an int).</summary>
    public const uint MaxBatEntries = int.MaxValue / 4;

    public static ReadOnlySpan<byte> MagicSectors => "WithoutFreeSpace"u8;

    public static ReadOnlySpan<byte> MagicClusters => "WithouFreSpacExt"u8;

    /// <summary>True for the "Ext" magic (BAT entries in clusters), false for the old one (in sectors).</summary>
    public bool ClusterUnits { get; init; }

    public uint Version { get; init; }
    public uint HeadCount { get; init; }
    public uint Cylinders { get; init; }

    /// <summary>Sectors per cluster.</summary>
    public uint Tracks { get; init; }

    public uint BatEntries { get; init; }

    /// <summary>The image size in sectors, as stored (all 64 bits, whatever the magic).</summary>
    public ulong Sectors { get; init; }

    public uint InUse { get; init; }

    /// <summary>Start of the data area in sectors; 0 means right after the BAT.</summary>
    public uint DataOffset { get; init; }

    public uint Flags { get; init; }

    /// <summary>Format Extension cluster, in sectors; 0 for none.</summary>
    public ulong ExtensionOffset { get; init; }

    /// <summary>The sectors the image has: the old magic uses only the low 32 bits of the stored count.</summary>
    public ulong EffectiveSectors => ClusterUnits ? Sectors : Sectors & 0xFFFFFFFF;

    /// <summary>Sectors one BAT unit stands for.</summary>
    public uint OffsetMultiplier => ClusterUnits ? Tracks : 1;

    /// <summary>Either magic (QEMU's open checks the version separately).</summary>
    public static bool HasMagic(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= 16 && (bytes[..16].SequenceEqual(MagicSectors) || bytes[..16].SequenceEqual(MagicClusters));

    /// <summary>QEMU's probe: a whole header with either magic and version 2.</summary>
    public static bool Probe(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= Size && HasMagic(bytes) && BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]) == Version2;

    public static ParallelsHeader Parse(ReadOnlySpan<byte> b) => new()
    {
        ClusterUnits = b[..16].SequenceEqual(MagicClusters),
        Version = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
        HeadCount = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
        Cylinders = BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
        Tracks = BinaryPrimitives.ReadUInt32LittleEndian(b[28..]),
        BatEntries = BinaryPrimitives.ReadUInt32LittleEndian(b[32..]),
        Sectors = BinaryPrimitives.ReadUInt64LittleEndian(b[36..]),
        InUse = BinaryPrimitives.ReadUInt32LittleEndian(b[44..]),
        DataOffset = BinaryPrimitives.ReadUInt32LittleEndian(b[48..]),
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[52..]),
        ExtensionOffset = BinaryPrimitives.ReadUInt64LittleEndian(b[56..]),
    };

    public void WriteTo(Span<byte> b)
    {
        (ClusterUnits ? MagicClusters : MagicSectors).CopyTo(b);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], HeadCount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], Cylinders);
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], Tracks);
        BinaryPrimitives.WriteUInt32LittleEndian(b[32..], BatEntries);
        BinaryPrimitives.WriteUInt64LittleEndian(b[36..], Sectors);
        BinaryPrimitives.WriteUInt32LittleEndian(b[44..], InUse);
        BinaryPrimitives.WriteUInt32LittleEndian(b[48..], DataOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(b[52..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b[56..], ExtensionOffset);
    }

    /// <summary>
    /// The byte offset of BAT entry <paramref name="index"/>, in 32-bit arithmetic that wraps as QEMU's does (its
    /// create computes the data offset this way, so a BAT past 4 GiB gets a data offset that wraps too).
    /// </summary>
    public static uint BatEntryOffset(uint index) => unchecked(Size + (4 * index));
}
