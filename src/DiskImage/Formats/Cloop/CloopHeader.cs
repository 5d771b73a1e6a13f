using System.Buffers.Binary;

namespace DiskImage.Formats.Cloop;

/// <summary>
/// The head of a cloop (compressed loop, V2.0) image: a 128-byte shell-script preamble, then big-endian the
/// uncompressed block size and the block count, then <c>count + 1</c> big-endian 64-bit file offsets, block
/// <c>i</c> being the zlib stream between offsets <c>i</c> and <c>i + 1</c>.
/// </summary>
internal sealed record CloopHeader
{
    /// <summary>Bytes read at open: the preamble and the two sizes.</summary>
    public const int Size = OffsetsStart;

    /// <summary>The file offset of the offsets table.</summary>
    public const int OffsetsStart = BlockCountOffset + 4;

    /// <summary>QEMU's bound on the uncompressed block size (64 MiB).</summary>
    public const uint MaxBlockSize = 64 * 1024 * 1024;

    /// <summary>QEMU's bound on one compressed block: twice the largest uncompressed one.</summary>
    public const ulong MaxCompressedSize = 2UL * MaxBlockSize;

    /// <summary>QEMU's bound on the block count, from the 32-bit size of its offsets table.</summary>
    public const uint MaxBlockCount = (uint.MaxValue - 1) / 8;

    /// <summary>QEMU's bound on the bytes of the offsets table (512 MiB).</summary>
    public const uint MaxOffsetsBytes = 512 * 1024 * 1024;

    public const int SectorSize = 512;

    private const int BlockSizeOffset = 128;
    private const int BlockCountOffset = 132;

    /// <summary>The preamble QEMU recognises (only as far as the file goes when it is shorter).</summary>
    public static ReadOnlySpan<byte> Preamble =>
        "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"u8;

    public uint BlockSize { get; init; }

    public uint BlockCount { get; init; }

    /// <summary>
    /// QEMU's probe: the whole preamble. (Its probe would take a prefix of it from a shorter buffer, but qemu-img always
    /// hands it a whole probe buffer, zeroes past the end of the file.)
    /// </summary>
    public static bool Probe(ReadOnlySpan<byte> bytes) => bytes.StartsWith(Preamble);

    public static CloopHeader Parse(ReadOnlySpan<byte> b) => new()
    {
        BlockSize = BinaryPrimitives.ReadUInt32BigEndian(b[BlockSizeOffset..]),
        BlockCount = BinaryPrimitives.ReadUInt32BigEndian(b[BlockCountOffset..]),
    };

    /// <summary>QEMU's checks on the block size, in its order and words; null when it is usable.</summary>
    public string? BlockSizeError() =>
        BlockSize % SectorSize != 0 ? $"block_size {BlockSize} must be a multiple of 512"
        : BlockSize == 0 ? "block_size cannot be zero"
        : BlockSize > MaxBlockSize ? $"block_size {BlockSize} must be {MaxBlockSize / (1024 * 1024)} MB or less"
        : null;

    /// <summary>QEMU's checks on the block count, in its order and words; null when it is usable.</summary>
    public string? BlockCountError() =>
        BlockCount > MaxBlockCount ? $"n_blocks {BlockCount} must be {MaxBlockCount} or less"
        : OffsetsBytes > MaxOffsetsBytes ? "image requires too many offsets, try increasing block size"
        : null;

    /// <summary>The table's size in QEMU's 32-bit arithmetic: it wraps to zero for the largest count allowed.</summary>
    public uint OffsetsBytes => unchecked((BlockCount + 1) * 8);

    /// <summary>The guest size in sectors, in QEMU's 32-bit arithmetic (which wraps for huge images).</summary>
    public uint Sectors => unchecked(BlockCount * (BlockSize / SectorSize));
}
