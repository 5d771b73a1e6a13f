using System.Buffers.Binary;
using System.Numerics;

namespace DiskImage.Formats.Vhdx;

/// <summary>CRC-32C (Castagnoli), the checksum of every VHDX header, region table and log entry.</summary>
internal static class VhdxCrc32C
{
    /// <summary>
    /// The checksum of <paramref name="bytes"/> with the four bytes at <paramref name="checksumOffset"/> counted
    /// as zero, as the specification computes it. <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the CPU's
    /// CRC32 instruction where there is one.
    /// </summary>
    public static uint Compute(ReadOnlySpan<byte> bytes, int checksumOffset)
    {
        var crc = Update(uint.MaxValue, bytes[..checksumOffset]);
        crc = Update(crc, [0, 0, 0, 0]);
        crc = Update(crc, bytes[(checksumOffset + 4)..]);
        return ~crc;
    }

    /// <summary>The plain CRC-32C of <paramref name="bytes"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> bytes) => ~Update(uint.MaxValue, bytes);

    /// <summary>Whether the little-endian checksum stored at <paramref name="checksumOffset"/> is right.</summary>
    public static bool Verify(ReadOnlySpan<byte> bytes, int checksumOffset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[checksumOffset..]) == Compute(bytes, checksumOffset);

    /// <summary>Feeds <paramref name="bytes"/> into a running (not yet inverted) CRC-32C.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
            bytes = bytes[8..];
        }

        foreach (var b in bytes)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
