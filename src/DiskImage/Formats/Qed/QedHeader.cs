using System.Buffers.Binary;

namespace DiskImage.Formats.Qed;

/// <summary>The 64-byte little-endian QED header (QEMU's docs/interop/qed_spec.txt), with QEMU's limits.</summary>
internal sealed record QedHeader
{
    public const int Size = 64;
    public const uint Magic = 0x00444551; // "QED\0"
    public const ulong FeatureBackingFile = 1;
    public const ulong FeatureNeedCheck = 2;
    public const ulong FeatureBackingFormatNoProbe = 4;
    public const ulong KnownFeatures = FeatureBackingFile | FeatureNeedCheck | FeatureBackingFormatNoProbe;
    public const int MinClusterSize = 4096;
    public const int MaxClusterSize = 64 << 20;
    public const int MinTableSize = 1;
    public const int MaxTableSize = 16;
    public const int DefaultClusterSize = 65536;
    public const int DefaultTableSize = 4;
    public const int FeaturesOffset = 16;

    public uint ClusterSize { get; init; }
    public uint TableSize { get; init; }
    public uint HeaderSize { get; init; }
    public ulong Features { get; init; }
    public ulong CompatFeatures { get; init; }
    public ulong AutoclearFeatures { get; init; }
    public ulong L1TableOffset { get; init; }
    public ulong ImageSize { get; init; }
    public uint BackingFilenameOffset { get; init; }
    public uint BackingFilenameSize { get; init; }

    public bool HasBackingFile => (Features & FeatureBackingFile) != 0;

    public bool NeedsCheck => (Features & FeatureNeedCheck) != 0;

    public static bool HasMagic(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= Size && BinaryPrimitives.ReadUInt32LittleEndian(bytes) == Magic;

    public static QedHeader Parse(ReadOnlySpan<byte> b) => new()
    {
        ClusterSize = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
        TableSize = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
        HeaderSize = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
        Features = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
        CompatFeatures = BinaryPrimitives.ReadUInt64LittleEndian(b[24..]),
        AutoclearFeatures = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
        L1TableOffset = BinaryPrimitives.ReadUInt64LittleEndian(b[40..]),
        ImageSize = BinaryPrimitives.ReadUInt64LittleEndian(b[48..]),
        BackingFilenameOffset = BinaryPrimitives.ReadUInt32LittleEndian(b[56..]),
        BackingFilenameSize = BinaryPrimitives.ReadUInt32LittleEndian(b[60..]),
    };

    /// <summary>Writes the known fields over the first 64 bytes of <paramref name="b"/> (what follows is kept).</summary>
    public void WriteTo(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], ClusterSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], TableSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], Features);
        BinaryPrimitives.WriteUInt64LittleEndian(b[24..], CompatFeatures);
        BinaryPrimitives.WriteUInt64LittleEndian(b[32..], AutoclearFeatures);
        BinaryPrimitives.WriteUInt64LittleEndian(b[40..], L1TableOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(b[48..], ImageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[56..], BackingFilenameOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(b[60..], BackingFilenameSize);
    }

    public static bool IsClusterSizeValid(ulong size) =>
        size is >= MinClusterSize and <= MaxClusterSize && (size & (size - 1)) == 0;

    public static bool IsTableSizeValid(ulong size) =>
        size is >= MinTableSize and <= MaxTableSize && (size & (size - 1)) == 0;

    /// <summary>
    /// QEMU's bound, computed as it does in 64-bit arithmetic that wraps: 16-cluster tables of 64 MiB clusters
    /// overflow to 0, so no size is valid for them.
    /// </summary>
    public static ulong MaxImageSize(uint clusterSize, uint tableSize)
    {
        unchecked
        {
            var entries = (ulong)(tableSize * clusterSize) / 8;
            return entries * clusterSize * entries;
        }
    }

    public static bool IsImageSizeValid(ulong size, uint clusterSize, uint tableSize) =>
        size % 512 == 0 && size <= MaxImageSize(clusterSize, tableSize);

    /// <summary>Entries per L1 or L2 table.</summary>
    public int TableEntries => (int)(ClusterSize * TableSize / 8);

    /// <summary>Bytes per L1 or L2 table.</summary>
    public int TableBytes => (int)(ClusterSize * TableSize);

    /// <summary>
    /// Refuses what QEMU's open refuses, in its order and words. <paramref name="fileLength"/> is rounded down to
    /// whole clusters, as QEMU keeps it.
    /// </summary>
    public void Validate(long fileLength)
    {
        if ((Features & ~KnownFeatures) != 0)
        {
            throw new UnsupportedFeatureException($"Unsupported QED features: {Features & ~KnownFeatures:x}");
        }

        if (!IsClusterSizeValid(ClusterSize))
        {
            throw new InvalidImageException("QED cluster size is invalid");
        }

        if (!IsTableSizeValid(TableSize))
        {
            throw new InvalidImageException("QED table size is invalid");
        }

        if (!IsImageSizeValid(ImageSize, ClusterSize, TableSize))
        {
            throw new InvalidImageException("QED image size is invalid");
        }

        var fileSize = (ulong)fileLength & ~(ulong)(ClusterSize - 1);
        if (!IsTableOffsetValid(L1TableOffset, fileSize))
        {
            throw new InvalidImageException("QED table offset is invalid");
        }

        if (HeaderSize > uint.MaxValue / ClusterSize)
        {
            throw new InvalidImageException("QED header size is too large");
        }

        if (HasBackingFile && (ulong)BackingFilenameOffset + BackingFilenameSize > (ulong)ClusterSize * HeaderSize)
        {
            throw new InvalidImageException("QED backing filename offset is invalid");
        }
    }

    /// <summary>A data cluster offset: cluster-aligned, past the header clusters and inside the file.</summary>
    public bool IsClusterOffsetValid(ulong offset, ulong fileSize) =>
        (offset & (ClusterSize - 1)) == 0 && offset >= (ulong)HeaderSize * ClusterSize && offset < fileSize;

    /// <summary>
    /// A table offset: its first and last cluster valid. QEMU's wrap test (last cluster not after the first) also
    /// refuses every table of one-cluster tables, so images with <c>table_size=1</c> do not open in QEMU either.
    /// </summary>
    public bool IsTableOffsetValid(ulong offset, ulong fileSize)
    {
        var end = unchecked(offset + ((ulong)(TableSize - 1) * ClusterSize));
        return end > offset && IsClusterOffsetValid(offset, fileSize) && IsClusterOffsetValid(end, fileSize);
    }
}
