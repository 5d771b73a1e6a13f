using System.Buffers.Binary;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// The constant header of an ESXi seSparse extent (512 bytes of little-endian 64-bit words; offsets in
/// sectors). The format is not documented, so it is checked as strictly as QEMU checks it.
/// </summary>
internal readonly record struct SeSparseHeader(
    ulong Capacity, ulong GrainSize, ulong GrainTableSize, ulong VolatileHeaderOffset,
    ulong GrainDirectoryOffset, ulong GrainDirectorySize, ulong GrainTablesOffset, ulong GrainsOffset)
{
    private const int Words = 26;

    public static bool HasMagic(ReadOnlySpan<byte> block) =>
        block.Length >= 8 && BinaryPrimitives.ReadUInt64LittleEndian(block) == VmdkConstants.SeSparseConstMagic;

    /// <summary>Decodes and validates the constant header; bad values throw with QEMU's words.</summary>
    public static SeSparseHeader Read(ReadOnlySpan<byte> block)
    {
        var words = new ulong[Words];
        for (var i = 0; i < Words; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt64LittleEndian(block[(i * 8)..]);
        }

        ulong Word(int index) => words[index];
        if (Word(0) != VmdkConstants.SeSparseConstMagic)
        {
            throw new InvalidImageException($"Bad const header magic: 0x{Word(0):x16}");
        }

        if (Word(1) != VmdkConstants.SeSparseVersion)
        {
            throw new UnsupportedFeatureException($"Unsupported version: 0x{Word(1):x16}");
        }

        if (Word(3) != 8)
        {
            throw new UnsupportedFeatureException($"Unsupported grain size: {Word(3)}");
        }

        if (Word(4) != 64)
        {
            throw new UnsupportedFeatureException($"Unsupported grain table size: {Word(4)}");
        }

        if (Word(5) != 0)
        {
            throw new UnsupportedFeatureException($"Unsupported flags: 0x{Word(5):x16}");
        }

        if (Word(6) != 0 || Word(7) != 0 || Word(8) != 0 || Word(9) != 0)
        {
            throw new UnsupportedFeatureException(
                $"Unsupported reserved bits: 0x{Word(6):x16} 0x{Word(7):x16} 0x{Word(8):x16} 0x{Word(9):x16}");
        }

        if (block[(Words * 8)..VmdkConstants.SectorSize].ContainsAnyExcept((byte)0))
        {
            throw new UnsupportedFeatureException("Unsupported non-zero const header padding");
        }

        return new SeSparseHeader(Word(2), Word(3), Word(4), Word(10), Word(16), Word(17), Word(18), Word(24));
    }

    /// <summary>Validates the volatile header: a journal waiting for replay is refused, as QEMU refuses it.</summary>
    public static void CheckVolatile(ReadOnlySpan<byte> block)
    {
        var magic = BinaryPrimitives.ReadUInt64LittleEndian(block);
        if (magic != VmdkConstants.SeSparseVolatileMagic)
        {
            throw new InvalidImageException($"Bad volatile header magic: 0x{magic:x16}");
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(block[24..]) != 0)
        {
            throw new UnsupportedFeatureException("Image is dirty, Replaying journal not supported");
        }

        if (block[32..VmdkConstants.SectorSize].ContainsAnyExcept((byte)0))
        {
            throw new UnsupportedFeatureException("Unsupported non-zero volatile header padding");
        }
    }
}
