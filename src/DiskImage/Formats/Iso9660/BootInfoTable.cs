using System.Buffers.Binary;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// The boot info table isolinux and GRUB expect at bytes 8-63 of a no-emulation boot image:
/// PVD block, boot file block, boot file length, and the 32-bit sum of the file from byte 64 on.
/// </summary>
internal static class BootInfoTable
{
    public const int Offset = 8;
    public const int Length = 56;
    public const int ChecksumStart = 64;

    public static void Patch(Span<byte> image, uint fileBlock)
    {
        if (image.Length < ChecksumStart)
        {
            throw new InvalidOptionException("Boot image is too small for a boot info table (64 bytes at least)");
        }

        var sum = Checksum(image[ChecksumStart..]);
        var table = image.Slice(Offset, Length);
        table.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(table, IsoConstants.FirstDescriptorSector);
        BinaryPrimitives.WriteUInt32LittleEndian(table[4..], fileBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(table[8..], (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(table[12..], sum);
    }

    /// <summary>Sum of little-endian 32-bit words; a trailing partial word counts as zero-padded.</summary>
    public static uint Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var whole = data.Length & ~3;
        for (var i = 0; i < whole; i += 4)
        {
            sum += BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
        }

        if (whole < data.Length)
        {
            Span<byte> tail = stackalloc byte[4];
            tail.Clear();
            data[whole..].CopyTo(tail);
            sum += BinaryPrimitives.ReadUInt32LittleEndian(tail);
        }

        return sum;
    }
}
