using System.Buffers.Binary;

namespace DiskImage.Formats.Vpc;

/// <summary>The 1024-byte dynamic disk header ("cxsparse") that locates the block allocation table.</summary>
internal sealed record VpcDynamicHeader
{
    public const int Size = 1024;
    public const uint DefaultBlockSize = 2 << 20;
    private const int ChecksumOffset = 36;

    public required ulong TableOffset { get; init; }
    public required uint MaxTableEntries { get; init; }
    public required uint BlockSize { get; init; }

    /// <summary>Parses the header; QEMU does not verify its checksum, so neither is this an open error.</summary>
    public static VpcDynamicHeader Parse(ReadOnlySpan<byte> bytes)
    {
        if (!bytes[..8].SequenceEqual("cxsparse"u8))
        {
            throw new InvalidImageException("Invalid dynamic VHD header", 0);
        }

        return new VpcDynamicHeader
        {
            TableOffset = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            MaxTableEntries = BinaryPrimitives.ReadUInt32BigEndian(bytes[28..]),
            BlockSize = BinaryPrimitives.ReadUInt32BigEndian(bytes[32..]),
        };
    }

    /// <summary>Whether the stored checksum matches (reported by <c>info</c>-level tooling, not required to open).</summary>
    public static bool ChecksumMatches(ReadOnlySpan<byte> bytes) =>
        BinaryPrimitives.ReadUInt32BigEndian(bytes[ChecksumOffset..]) == VpcFooter.Checksum(bytes[..Size], ChecksumOffset);

    /// <summary>The header as QEMU writes it: no parent, data offset all ones (what Microsoft's tools expect).</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        "cxsparse"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), ulong.MaxValue);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(16), TableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), 0x00010000);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(28), MaxTableEntries);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(32), BlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(ChecksumOffset), VpcFooter.Checksum(bytes, ChecksumOffset));
        return bytes;
    }
}
