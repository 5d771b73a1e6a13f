using System.Buffers.Binary;
using System.Globalization;

namespace DiskImage.Formats.Dmg;

/// <summary>
/// Reads "mish" blocks (a blkx resource: a 204-byte header, then 40-byte chunk entries) into a
/// <see cref="DmgChunkTable"/>, with QEMU's limits and warnings. A block without the magic, or too short to hold an
/// entry, is skipped.
/// </summary>
internal sealed class DmgMishBlock(DmgChunkTable table, ulong dataForkOffset)
{
    /// <summary>Bytes before the first entry.</summary>
    public const int HeaderSize = 204;

    /// <summary>Bytes per chunk entry.</summary>
    public const int EntrySize = 40;

    /// <summary>The largest chunk QEMU reads into memory, compressed or not (64 MiB).</summary>
    public const uint MaxLength = 64 * 1024 * 1024;

    /// <summary>The most sectors a chunk that is read may cover.</summary>
    public const uint MaxSectorCount = MaxLength / 512;

    private const uint Magic = 0x6D697368; // "mish"
    private const int MinimumSize = HeaderSize + EntrySize;

    private bool _warnedBzip2;
    private bool _warnedLzfse;
    private bool _warnedUnknown;

    /// <summary>
    /// How many entries a block of <paramref name="count"/> bytes starting with <paramref name="header"/> holds, and
    /// the sector and file offsets its entries are relative to; 0 entries for a block that is skipped.
    /// </summary>
    public static (uint Entries, ulong FirstSector, ulong DataOffset) ParseHeader(ReadOnlySpan<byte> header, uint count)
    {
        if (count < MinimumSize || header.Length < HeaderSize || BinaryPrimitives.ReadUInt32BigEndian(header) != Magic)
        {
            return (0, 0, 0);
        }

        return ((count - HeaderSize) / EntrySize, BinaryPrimitives.ReadUInt64BigEndian(header[8..]), BinaryPrimitives.ReadUInt64BigEndian(header[0x18..]));
    }

    /// <summary>Adds a whole block held in memory.</summary>
    public void Add(ReadOnlySpan<byte> block)
    {
        var (entries, firstSector, dataOffset) = ParseHeader(block, (uint)Math.Min(block.Length, uint.MaxValue));
        if (entries > 0)
        {
            AddEntries(block.Slice(HeaderSize, (int)entries * EntrySize), firstSector, dataOffset);
        }
    }

    /// <summary>
    /// Adds entries (a whole number of them) of a block whose header gave <paramref name="firstSector"/> and
    /// <paramref name="dataOffset"/>. Entries of types that cannot be read are dropped, with QEMU's one warning per
    /// kind; a chunk too large to read fails the open in QEMU's words.
    /// </summary>
    public void AddEntries(ReadOnlySpan<byte> entries, ulong firstSector, ulong dataOffset)
    {
        var inOffset = unchecked(dataForkOffset + dataOffset);
        for (; entries.Length >= EntrySize; entries = entries[EntrySize..])
        {
            var type = BinaryPrimitives.ReadUInt32BigEndian(entries);
            if (!DmgChunkType.IsReadable(type))
            {
                WarnUnreadable(type);
                continue;
            }

            var index = (uint)table.Count;
            var sector = unchecked(BinaryPrimitives.ReadUInt64BigEndian(entries[8..]) + firstSector);
            var sectorCount = BinaryPrimitives.ReadUInt64BigEndian(entries[0x10..]);
            if (!DmgChunkType.ReadsAsZero(type) && sectorCount > MaxSectorCount)
            {
                throw Refused(string.Create(CultureInfo.InvariantCulture, $"sector count {sectorCount} for chunk {index} is larger than max ({MaxSectorCount})"));
            }

            var offset = unchecked(BinaryPrimitives.ReadUInt64BigEndian(entries[0x18..]) + inOffset);
            var length = BinaryPrimitives.ReadUInt64BigEndian(entries[0x20..]);
            if (length > MaxLength)
            {
                throw Refused(string.Create(CultureInfo.InvariantCulture, $"length {length} for chunk {index} is larger than max ({MaxLength})"));
            }

            table.Add(type, sector, sectorCount, offset, (uint)length);
        }
    }

    /// <summary>QEMU prints the reason on its own line, then fails the open with EINVAL.</summary>
    private static DmgTableException Refused(string reason)
    {
        ImageWarnings.Report(reason);
        return new DmgTableException();
    }

    private void WarnUnreadable(uint type)
    {
        switch (type)
        {
            case DmgChunkType.Bzip2:
                Warn(ref _warnedBzip2, "dmg-bzip2 module is missing, accessing bzip2 compressed blocks will result in I/O errors");
                break;
            case DmgChunkType.Lzfse:
                Warn(ref _warnedLzfse, "dmg-lzfse module is missing, accessing lzfse compressed blocks will result in I/O errors");
                break;
            case DmgChunkType.Comment or DmgChunkType.Terminator:
                break;
            default:
                Warn(ref _warnedUnknown, string.Create(CultureInfo.InvariantCulture, $"Image contains chunks of unknown type {type:x}, accessing them will result in I/O errors"));
                break;
        }
    }

    private static void Warn(ref bool warned, string message)
    {
        if (!warned)
        {
            warned = true;
            ImageWarnings.Report("warning: " + message);
        }
    }
}

/// <summary>The tables cannot be read: QEMU fails the open with EINVAL and no message of its own.</summary>
internal sealed class DmgTableException : Exception
{
}
