using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Formats.Vpc;

/// <summary>
/// The 512-byte VHD footer ("hard disk footer"): big-endian, at the end of every VHD and, for dynamic
/// disks, copied at offset 0 too.
/// </summary>
internal sealed record VpcFooter
{
    public const int Size = 512;
    public const uint TypeFixed = 2;
    public const uint TypeDynamic = 3;
    public const uint TypeDifferencing = 4;

    /// <summary>Seconds between the Unix epoch and the VHD epoch (2000-01-01 UTC).</summary>
    public const long TimestampBase = 946684800;

    private const int ChecksumOffset = 64;

    public required ulong DataOffset { get; init; }
    public uint Timestamp { get; init; }
    public required string CreatorApp { get; init; }
    public ulong OriginalSize { get; init; }
    public required ulong CurrentSize { get; init; }
    public required VpcGeometry Geometry { get; init; }
    public required uint DiskType { get; init; }
    public Guid Uuid { get; init; }

    public static bool HasCookie(ReadOnlySpan<byte> bytes) => bytes.Length >= 8 && bytes[..8].SequenceEqual("conectix"u8);

    /// <summary>The VHD checksum: one's complement of the byte sum, with the checksum field counted as zero.</summary>
    public static uint Checksum(ReadOnlySpan<byte> bytes, int checksumOffset)
    {
        uint sum = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (i < checksumOffset || i >= checksumOffset + 4)
            {
                sum += bytes[i];
            }
        }

        return ~sum;
    }

    /// <summary>Parses a footer whose cookie was already seen, refusing a wrong checksum as qemu-img does.</summary>
    public static VpcFooter Parse(ReadOnlySpan<byte> bytes)
    {
        if (BinaryPrimitives.ReadUInt32BigEndian(bytes[ChecksumOffset..]) != Checksum(bytes[..Size], ChecksumOffset))
        {
            throw new InvalidImageException("Incorrect header checksum", 0);
        }

        return new VpcFooter
        {
            DataOffset = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            Timestamp = BinaryPrimitives.ReadUInt32BigEndian(bytes[24..]),
            CreatorApp = Encoding.Latin1.GetString(bytes.Slice(28, 4)),
            OriginalSize = BinaryPrimitives.ReadUInt64BigEndian(bytes[40..]),
            CurrentSize = BinaryPrimitives.ReadUInt64BigEndian(bytes[48..]),
            Geometry = new VpcGeometry(BinaryPrimitives.ReadUInt16BigEndian(bytes[56..]), bytes[58], bytes[59]),
            DiskType = BinaryPrimitives.ReadUInt32BigEndian(bytes[60..]),
            Uuid = new Guid(bytes.Slice(68, 16), bigEndian: true),
        };
    }

    /// <summary>The footer as QEMU writes it (creator "qemu" 5.3 on "Wi2k", features 2, version 1.0).</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        "conectix"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), 2);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(12), 0x00010000);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(16), DataOffset);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), Timestamp);
        Encoding.Latin1.GetBytes(CreatorApp.AsSpan(0, 4), bytes.AsSpan(28));
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(32), 5);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(34), 3);
        "Wi2k"u8.CopyTo(bytes.AsSpan(36));
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(40), OriginalSize);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(48), CurrentSize);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(56), Geometry.Cylinders);
        bytes[58] = Geometry.Heads;
        bytes[59] = Geometry.SectorsPerTrack;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(60), DiskType);
        Uuid.TryWriteBytes(bytes.AsSpan(68, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(ChecksumOffset), Checksum(bytes, ChecksumOffset));
        return bytes;
    }
}
