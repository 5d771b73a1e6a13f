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
            LogGuid = new Guid(b.Slice(48, 16)),
            LogVersion = BinaryPrimitives.ReadUInt16LittleEndian(b[64..]),
            Version = BinaryPrimitives.ReadUInt16LittleEndian(b[66..]),
            LogLength = BinaryPrimitives.ReadUInt32LittleEndian(b[68..]),
            LogOffset = BinaryPrimitives.ReadUInt64LittleEndian(b[72..]),
        };
    }

    /// <summary>The current header of the file, refused as QEMU refuses it when neither copy is valid.</summary>
    public static VhdxHeader ReadCurrent(IO.IStorage file)
    {
        var bytes = new byte[Size];
        file.Read(FirstOffset, bytes);
        var first = TryParse(bytes);
        file.Read(SecondOffset, bytes);
        var second = TryParse(bytes);
        var current = (first, second) switch
        {
            (null, null) => throw new InvalidImageException("No valid VHDX header found", FirstOffset),
            (null, _) => second,
            (_, null) => first,
            _ => first.SequenceNumber >= second.SequenceNumber ? first : second,
        };
        if (current.Version != 1)
        {
            throw new InvalidImageException("Invalid argument");
        }

        return current;
    }
}
