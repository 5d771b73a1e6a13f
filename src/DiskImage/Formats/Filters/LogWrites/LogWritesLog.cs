using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Filters.LogWrites;

/// <summary>
/// The dm-log-writes log as QEMU's blklogwrites driver writes it: sector 0 holds the superblock (magic, version, entry
/// count, sector size; little-endian, zero-padded to a sector), then one sector per entry (sector, sector count,
/// flags, data length 0), each write's data in the sectors after its entry. Discards and flushes have no data.
/// </summary>
internal static class LogWritesLog
{
    public const ulong Magic = 0x6a736677736872;
    public const ulong Version = 1;
    public const int SuperSize = 28;
    public const int EntrySize = 32;

    public const ulong FlushFlag = 1;
    public const ulong FuaFlag = 2;
    public const ulong DiscardFlag = 4;
    public const ulong MarkFlag = 8;
    private const ulong FlagMask = FlushFlag | FuaFlag | DiscardFlag | MarkFlag;

    /// <summary>Where an appended log goes on: the next free sector and the entries so far.</summary>
    public readonly record struct Tail(uint SectorSize, ulong NextSector, ulong Entries);

    /// <summary>Powers of two that hold a superblock and an entry, below 16 MiB.</summary>
    public static bool IsValidSectorSize(ulong size) => size >= EntrySize && size < 1 << 24 && (size & (size - 1)) == 0;

    /// <summary>The superblock sector for <paramref name="entries"/> entries.</summary>
    public static byte[] Superblock(ulong entries, uint sectorSize)
    {
        var sector = new byte[sectorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(sector, Magic);
        BinaryPrimitives.WriteUInt64LittleEndian(sector.AsSpan(8), Version);
        BinaryPrimitives.WriteUInt64LittleEndian(sector.AsSpan(16), entries);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.AsSpan(24), sectorSize);
        return sector;
    }

    /// <summary>An entry's sector followed by its data.</summary>
    public static byte[] Entry(ulong sector, ulong sectors, ulong flags, ReadOnlySpan<byte> data, uint sectorSize)
    {
        var bytes = new byte[sectorSize + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, sector);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sectors);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), flags);
        data.CopyTo(bytes.AsSpan((int)sectorSize));
        return bytes;
    }

    /// <summary>
    /// Reads an existing log to append to it, with QEMU's checks and words: an empty log is a new one of 512-byte
    /// sectors; otherwise the superblock must be valid and every entry's flags known. A superblock whose sector size
    /// is invalid yields that size with no entries (the open then refuses the size).
    /// </summary>
    public static Tail ReadTail(IStorage log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (log.Length == 0)
        {
            return new Tail(512, 1, 0);
        }

        Span<byte> super = stackalloc byte[SuperSize];
        log.Read(0, super);
        if (BinaryPrimitives.ReadUInt64LittleEndian(super) != Magic)
        {
            throw new InvalidImageException("Invalid log superblock magic");
        }

        var version = BinaryPrimitives.ReadUInt64LittleEndian(super[8..]);
        if (version != Version)
        {
            throw new InvalidImageException($"Unsupported log version {version}");
        }

        var entries = BinaryPrimitives.ReadUInt64LittleEndian(super[16..]);
        var sectorSize = BinaryPrimitives.ReadUInt32LittleEndian(super[24..]);
        return IsValidSectorSize(sectorSize)
            ? new Tail(sectorSize, NextSector(log, sectorSize, entries), entries)
            : new Tail(sectorSize, 1, 0);
    }

    /// <summary>
    /// The sector after the last entry: each entry takes its own sector and, but for discards, its data's. Entries past
    /// the log's end read as zeroes (one sector each, no data), so they are counted, not read.
    /// </summary>
    private static ulong NextSector(IStorage log, uint sectorSize, ulong entries)
    {
        var bits = System.Numerics.BitOperations.Log2(sectorSize);
        var length = (ulong)log.Length;
        Span<byte> entry = stackalloc byte[EntrySize];
        ulong sector = 1;
        for (ulong index = 0; index < entries; index++)
        {
            if (sector > length >> bits)
            {
                // From here on every entry reads as zeroes: one sector each.
                return unchecked(sector + (entries - index));
            }

            log.Read((long)(sector << bits), entry);
            var flags = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            if ((flags & ~FlagMask) != 0)
            {
                throw new InvalidImageException($"Invalid flags 0x{flags:x} in log entry {index}");
            }

            var sectors = (flags & DiscardFlag) != 0 ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
            if (sectors > (length >> bits))
            {
                // Data running past the log's end leaves only zero entries after it; a count this large would
                // otherwise wrap the sector number round to the start of the log.
                return unchecked(sector + 1 + sectors + (entries - index - 1));
            }

            sector += 1 + sectors;
        }

        return sector;
    }
}
