using System.Buffers.Binary;

namespace DiskImage.Formats.Vhdx;

/// <summary>
/// Finds whether the VHDX log holds entries still to be replayed: a valid entry (signature "loge", the header's
/// log GUID, a right CRC-32C) anywhere in the log region. QEMU refuses a read-only open of such an image.
/// </summary>
internal static class VhdxLog
{
    private const uint EntrySignature = 0x65676f6c; // "loge"
    private const int SectorSize = 4096;

    public static bool HasPendingEntries(IO.IStorage file, VhdxHeader header)
    {
        if (header.LogGuid == Guid.Empty)
        {
            return false;
        }

        if (header.LogVersion != 0 || header.LogLength % (1 << 20) != 0 || header.LogOffset % (1 << 20) != 0
            || header.LogOffset > (ulong)file.Length || header.LogOffset + header.LogLength > (ulong)file.Length)
        {
            throw new InvalidImageException("Invalid argument", VhdxHeader.FirstOffset);
        }

        var sector = new byte[SectorSize];
        for (long at = 0; at < header.LogLength; at += SectorSize)
        {
            file.Read((long)header.LogOffset + at, sector);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sector) != EntrySignature || new Guid(sector.AsSpan(32, 16)) != header.LogGuid)
            {
                continue;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(8));
            if (length < SectorSize || length % SectorSize != 0 || at + length > header.LogLength)
            {
                continue;
            }

            var entry = new byte[length];
            file.Read((long)header.LogOffset + at, entry);
            if (VhdxCrc32C.Verify(entry, 4))
            {
                return true;
            }
        }

        return false;
    }
}
