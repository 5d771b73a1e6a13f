using System.Buffers.Binary;

namespace DiskImage.Formats.Vmdk;

/// <summary>The header of an ESX vmfsSparse extent ("COWD"); sizes in sectors, 4096-entry grain tables.</summary>
internal readonly record struct VmdkCowdHeader(uint DiskSectors, uint Granularity, uint DirectoryOffset, uint DirectorySize)
{
    private static class FieldOffsets
    {
        public const int DiskSectors = 12;
        public const int Granularity = DiskSectors + 4;
        public const int DirectoryOffset = Granularity + 4;
        public const int DirectorySize = DirectoryOffset + 4;
    }

    public const int GrainTableEntries = 4096;

    public static bool HasMagic(ReadOnlySpan<byte> block) =>
        block.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(block) == VmdkConstants.CowdMagic;

    public static VmdkCowdHeader Read(ReadOnlySpan<byte> block) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(block[FieldOffsets.DiskSectors..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[FieldOffsets.Granularity..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[FieldOffsets.DirectoryOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[FieldOffsets.DirectorySize..]));
}
