using System.Buffers.Binary;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// The 512-byte header of a hosted sparse extent ("KDMV"), little-endian. Offsets and sizes are in sectors,
/// as stored; <see cref="Read"/> only decodes, the open path validates.
/// </summary>
internal readonly record struct VmdkSparseHeader
{
    private static class FieldOffsets
    {
        public const int Magic = 0;
        public const int Version = Magic + 4;
        public const int Flags = Version + 4;
        public const int Capacity = Flags + 4;
        public const int Granularity = Capacity + 8;
        public const int DescriptorOffset = Granularity + 8;
        public const int DescriptorSize = DescriptorOffset + 8;
        public const int GrainTableEntries = DescriptorSize + 8;
        public const int RedundantDirectoryOffset = GrainTableEntries + 4;
        public const int DirectoryOffset = RedundantDirectoryOffset + 8;
        public const int GrainOffset = DirectoryOffset + 8;
        public const int UncleanShutdown = GrainOffset + 8;
        public const int CheckBytes = UncleanShutdown + 1;
        public const int CompressAlgorithm = CheckBytes + 4;
    }

    public const int Size = VmdkConstants.SectorSize;

    public uint Version { get; init; }
    public uint Flags { get; init; }
    public ulong Capacity { get; init; }
    public ulong Granularity { get; init; }
    public ulong DescriptorOffset { get; init; }
    public ulong DescriptorSize { get; init; }
    public uint GrainTableEntries { get; init; }
    public ulong RedundantDirectoryOffset { get; init; }
    public ulong DirectoryOffset { get; init; }
    public ulong GrainOffset { get; init; }
    public ushort CompressAlgorithm { get; init; }

    public bool Compressed => CompressAlgorithm == VmdkConstants.CompressionDeflate;
    public bool HasMarkers => (Flags & VmdkConstants.FlagMarkers) != 0;
    public bool HasZeroGrain => (Flags & VmdkConstants.FlagZeroGrain) != 0;
    public bool HasRedundantDirectory => (Flags & VmdkConstants.FlagRedundantGrainTable) != 0;

    public static bool HasMagic(ReadOnlySpan<byte> block) =>
        block.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(block) == VmdkConstants.SparseMagic;

    public static VmdkSparseHeader Read(ReadOnlySpan<byte> block) => new()
    {
        Version = BinaryPrimitives.ReadUInt32LittleEndian(block[FieldOffsets.Version..]),
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(block[FieldOffsets.Flags..]),
        Capacity = BinaryPrimitives.ReadUInt64LittleEndian(block[FieldOffsets.Capacity..]),
        Granularity = BinaryPrimitives.ReadUInt64LittleEndian(block[FieldOffsets.Granularity..]),
        DescriptorOffset = BinaryPrimitives.ReadUInt64LittleEndian(block[FieldOffsets.DescriptorOffset..]),
        DescriptorSize = BinaryPrimitives.ReadUInt64LittleEndian(block[FieldOffsets.DescriptorSize..]),
        GrainTableEntries = BinaryPrimitives.ReadUInt32LittleEndian(block[FieldOffsets.GrainTableEntries..]),
        RedundantDirectoryOffset = BinaryPrimitives.ReadUInt64LittleEndian(block[FieldOffsets.RedundantDirectoryOffset..]),
        DirectoryOffset = BinaryPrimitives.ReadUInt64LittleEndian(block[FieldOffsets.DirectoryOffset..]),
        GrainOffset = BinaryPrimitives.ReadUInt64LittleEndian(block[FieldOffsets.GrainOffset..]),
        CompressAlgorithm = BinaryPrimitives.ReadUInt16LittleEndian(block[FieldOffsets.CompressAlgorithm..]),
    };

    /// <summary>Writes the header (magic and QEMU's newline-detection bytes included) into a 512-byte block.</summary>
    public void Write(Span<byte> block)
    {
        block[..Size].Clear();
        BinaryPrimitives.WriteUInt32BigEndian(block, VmdkConstants.SparseMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(block[FieldOffsets.Version..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(block[FieldOffsets.Flags..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(block[FieldOffsets.Capacity..], Capacity);
        BinaryPrimitives.WriteUInt64LittleEndian(block[FieldOffsets.Granularity..], Granularity);
        BinaryPrimitives.WriteUInt64LittleEndian(block[FieldOffsets.DescriptorOffset..], DescriptorOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(block[FieldOffsets.DescriptorSize..], DescriptorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(block[FieldOffsets.GrainTableEntries..], GrainTableEntries);
        BinaryPrimitives.WriteUInt64LittleEndian(block[FieldOffsets.RedundantDirectoryOffset..], RedundantDirectoryOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(block[FieldOffsets.DirectoryOffset..], DirectoryOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(block[FieldOffsets.GrainOffset..], GrainOffset);
        "\n \r\n"u8.CopyTo(block[FieldOffsets.CheckBytes..]);
        BinaryPrimitives.WriteUInt16LittleEndian(block[FieldOffsets.CompressAlgorithm..], CompressAlgorithm);
    }
}
