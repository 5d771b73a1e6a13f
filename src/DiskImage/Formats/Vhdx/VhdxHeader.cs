using System.Buffers.Binary;

namespace DiskImage.Formats.Vhdx;

/// <summary>One of the two 4 KiB VHDX headers (at 64 KiB and 128 KiB); the valid one with the higher sequence number is current.</summary>
internal sealed record VhdxHeader
{
    public const long FirstOffset = 64 * 1024;
    public const long SecondOffset = 128 * 1024;
    public const int Size = 4096;
    private const uint Signature = 0x64616568; // "head"

    public required ulong SequenceNumber { get; init; }
    public Guid FileWriteGuid { get; init; }
    public Guid DataWriteGuid { get; init; }
    public required Guid LogGuid { get; init; }
    public required ushort LogVersion { get; init; }
    public required ushort Version { get; init; }
    public required uint LogLength { get; init; }
    public required ulong LogOffset { get; init; }

    /// <summary>Parses a header, or returns null when its signature or checksum is wrong.</summary>
    public static VhdxHeader? TryParse(ReadOnlySpan<byte> b)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) != Signature || !VhdxCrc32C.Verify(b[..Size], 4))
        {
            return null;
        }

        return new VhdxHeader
        {
            SequenceNumber = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
            FileWriteGuid = new Guid(b.Slice(16, 16)),
            DataWriteGuid = new Guid(b.Slice(32, 16)),
            LogGuid = new Guid(b.Slice(48, 16)),
            LogVersion = BinaryPrimitives.ReadUInt16LittleEndian(b[64..]),
            Version = BinaryPrimitives.ReadUInt16LittleEndian(b[66..]),
            LogLength = BinaryPrimitives.ReadUInt32LittleEndian(b[68..]),
            LogOffset = BinaryPrimitives.ReadUInt64LittleEndian(b[72..]),
        };
    }

    /// <summary>
    /// Writes this header over <paramref name="block"/> (the 4 KiB as read from the file, so bytes this reader
    /// does not know survive an update, as they do in QEMU) and seals it with its checksum.
    /// </summary>
    public void WriteTo(Span<byte> block)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(block, Signature);
        BinaryPrimitives.WriteUInt64LittleEndian(block[8..], SequenceNumber);
        FileWriteGuid.TryWriteBytes(block.Slice(16, 16));
        DataWriteGuid.TryWriteBytes(block.Slice(32, 16));
        LogGuid.TryWriteBytes(block.Slice(48, 16));
        BinaryPrimitives.WriteUInt16LittleEndian(block[64..], LogVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(block[66..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(block[68..], LogLength);
        BinaryPrimitives.WriteUInt64LittleEndian(block[72..], LogOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], VhdxCrc32C.Compute(block[..Size], 4));
    }

    /// <summary>The current header of the file, refused as QEMU refuses it when neither copy is valid.</summary>
    public static VhdxHeader ReadCurrent(IO.IStorage file) => ReadBoth(file).Current;

    /// <summary>Both header blocks as stored, and which one is current (0 or 1).</summary>
    public static (VhdxHeader Current, int Index, byte[][] Blocks) ReadBoth(IO.IStorage file)
    {
        byte[][] blocks = [new byte[Size], new byte[Size]];
        file.Read(FirstOffset, blocks[0]);
        file.Read(SecondOffset, blocks[1]);
        var first = Valid(TryParse(blocks[0]));
        var second = Valid(TryParse(blocks[1]));
        var (current, index) = (first, second) switch
        {
            (null, null) => throw new InvalidImageException("No valid VHDX header found", FirstOffset),
            (null, _) => (second, 1),
            (_, null) => (first, 0),
            // Equal sequence numbers are only accepted for identical copies (as Disk2VHD writes them).
            _ when first.SequenceNumber == second.SequenceNumber && !blocks[0].AsSpan().SequenceEqual(blocks[1]) =>
                throw new InvalidImageException("No valid VHDX header found", FirstOffset),
            _ => first.SequenceNumber >= second.SequenceNumber ? (first, 0) : (second, 1),
        };
        return (current, index, blocks);
    }

    // QEMU counts a header of another version as invalid, so the other copy may still be used.
    private static VhdxHeader? Valid(VhdxHeader? header) => header is { Version: 1 } ? header : null;
}
