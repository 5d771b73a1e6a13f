using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vhdx;

/// <summary>
/// The VHDX log: a circular buffer of 4 KiB sectors holding entries (a header sector with descriptors, then data
/// sectors) that describe metadata writes before they are made. Finding the active sequence follows QEMU's search
/// (sector by sector from the start, chaining entries whose sequence numbers follow, keeping the sequence that
/// starts with the highest number), so a log is replayed to the same result as QEMU replays it.
/// </summary>
internal static class VhdxLog
{
    public const int SectorSize = 4096;
    public const int EntryHeaderSize = 64;
    public const int DescriptorSize = 32;
    private const uint EntrySignature = 0x65676f6c; // "loge"
    private const uint DataDescriptorSignature = 0x63736564; // "desc"
    private const uint ZeroDescriptorSignature = 0x6f72657a; // "zero"
    private const uint DataSectorSignature = 0x61746164; // "data"
    private const long MiB = 1 << 20;

    /// <summary>The furthest a replay may write or grow the file: past any file a 64 TiB disk needs.</summary>
    private const ulong MaxFileOffset = 1UL << 47;

    /// <summary>The active sequence: where its first entry starts, how many entries it has, its first sequence number.</summary>
    internal sealed record Sequence(uint Start, int Count, ulong FirstSequenceNumber);

    private sealed record EntryHeader(uint EntryLength, ulong SequenceNumber, uint DescriptorCount, Guid LogGuid, ulong FlushedFileOffset, ulong LastFileOffset, uint Checksum);

    /// <summary>Whether the log holds a sequence still to be replayed (QEMU refuses a read-only open then).</summary>
    public static bool HasPendingEntries(IStorage file, VhdxHeader header) => FindSequence(file, header) is not null;

    /// <summary>
    /// The sequence to replay, or null when the log is empty. The header's log fields are checked first, as QEMU
    /// checks them; a log outside the file is refused rather than read as zeroes.
    /// </summary>
    public static Sequence? FindSequence(IStorage file, VhdxHeader header)
    {
        if (header.LogOffset < MiB || header.LogOffset % MiB != 0 || header.LogVersion != 0)
        {
            throw new InvalidImageException("Invalid argument", VhdxHeader.FirstOffset);
        }

        if (header.LogGuid == Guid.Empty || header.LogLength == 0)
        {
            return null;
        }

        if (header.LogLength % MiB != 0 || header.LogOffset + header.LogLength > (ulong)file.Length)
        {
            throw new InvalidImageException("Invalid argument", VhdxHeader.FirstOffset);
        }

        var log = new Cursor(file, (long)header.LogOffset, header.LogLength);
        Sequence? candidate = null;
        var sector = new byte[SectorSize];
        while (true)
        {
            var tail = log.Position;
            var first = ValidateEntry(log, header.LogGuid, 0, sector);
            if (first is not null)
            {
                var count = 1;
                ulong previous = 0;
                while (ValidateEntry(log, header.LogGuid, previous, sector) is { } next)
                {
                    count++;
                    previous = next.SequenceNumber;
                }

                if (candidate is null || first.SequenceNumber > candidate.FirstSequenceNumber)
                {
                    candidate = new Sequence(tail, count, first.SequenceNumber);
                }
            }

            if (log.Position < tail)
            {
                return candidate;
            }
        }
    }

    /// <summary>
    /// Writes the entries of <paramref name="sequence"/> to their places in the file (QEMU's order: each
    /// descriptor's sector in turn), then flushes. The caller then marks the log empty in the headers.
    /// </summary>
    public static void Replay(IStorage file, VhdxHeader header, Sequence sequence)
    {
        var log = new Cursor(file, (long)header.LogOffset, header.LogLength) { Position = sequence.Start };
        var descriptorSector = new byte[SectorSize];
        var data = new byte[SectorSize];
        var target = new byte[SectorSize];
        for (var n = 0; n < sequence.Count; n++)
        {
            var entry = PeekHeader(log, descriptorSector);
            var fileLength = (ulong)file.Length;
            if (!IsValidHeader(entry, header.LogGuid, header.LogLength) || entry.FlushedFileOffset > fileLength || entry.LastFileOffset > MaxFileOffset)
            {
                throw new InvalidImageException("Invalid argument", (long)header.LogOffset);
            }

            // The descriptor sectors are read first; data sectors follow in the order of the data descriptors.
            var descriptorSectors = DescriptorSectors(entry.DescriptorCount);
            var descriptorStart = log.Position;
            log.Skip(descriptorSectors);
            var dataCursor = log.Position;
            for (uint i = 0; i < entry.DescriptorCount; i++)
            {
                var at = EntryHeaderSize + (i * DescriptorSize);
                log.ReadAt(descriptorStart, (int)(at / SectorSize), descriptorSector);
                var d = descriptorSector.AsSpan((int)(at % SectorSize), DescriptorSize);
                var signature = BinaryPrimitives.ReadUInt32LittleEndian(d);
                var fileOffset = BinaryPrimitives.ReadUInt64LittleEndian(d[16..]);
                var length = signature == ZeroDescriptorSignature ? BinaryPrimitives.ReadUInt64LittleEndian(d[8..]) : SectorSize;
                if (!IsValidDescriptor(d, entry.SequenceNumber) || fileOffset > MaxFileOffset || length > MaxFileOffset - fileOffset)
                {
                    throw new InvalidImageException("Invalid argument", (long)header.LogOffset);
                }

                if (signature == ZeroDescriptorSignature)
                {
                    file.WriteZeroes((long)fileOffset, (long)length, mayUnmap: false);
                    continue;
                }

                log.Position = dataCursor;
                log.ReadSector(data);
                dataCursor = log.Position;
                var sequenceNumber = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4)) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(SectorSize - 4));
                if (sequenceNumber != entry.SequenceNumber)
                {
                    throw new InvalidImageException("Invalid argument", (long)header.LogOffset);
                }

                // The sector's first 8 and last 4 bytes travel in the descriptor, the rest in the data sector.
                d.Slice(8, 8).CopyTo(target);
                data.AsSpan(8, SectorSize - 12).CopyTo(target.AsSpan(8));
                d.Slice(4, 4).CopyTo(target.AsSpan(SectorSize - 4));
                file.Write((long)fileOffset, target);
            }

            log.Position = dataCursor;

            // QEMU grows the file to the entry's last offset only when that offset is not 1 MiB aligned.
            if (fileLength < entry.LastFileOffset && entry.LastFileOffset % MiB != 0)
            {
                file.SetLength((long)((entry.LastFileOffset + MiB - 1) / MiB * MiB));
            }
        }

        file.Flush();
    }

    /// <summary>
    /// One log entry that writes <paramref name="sector"/> (4 KiB) at <paramref name="fileOffset"/>: a header
    /// sector with one data descriptor, then the data sector, sealed with the entry's CRC-32C.
    /// </summary>
    public static byte[] BuildEntry(Guid logGuid, ulong sequenceNumber, uint tail, long fileLength, long fileOffset, ReadOnlySpan<byte> sector)
    {
        var entry = new byte[2 * SectorSize];
        var h = entry.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h, EntrySignature);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)entry.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], tail);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], sequenceNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], 1);
        logGuid.TryWriteBytes(h.Slice(32, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(h[48..], (ulong)fileLength);
        BinaryPrimitives.WriteUInt64LittleEndian(h[56..], (ulong)fileLength);

        var d = h.Slice(EntryHeaderSize, DescriptorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(d, DataDescriptorSignature);
        sector.Slice(SectorSize - 4, 4).CopyTo(d[4..]);
        sector[..8].CopyTo(d[8..]);
        BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)fileOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(d[24..], sequenceNumber);

        var data = h[SectorSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(data, DataSectorSignature);
        BinaryPrimitives.WriteUInt32LittleEndian(data[4..], (uint)(sequenceNumber >> 32));
        sector.Slice(8, SectorSize - 12).CopyTo(data[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(data[(SectorSize - 4)..], (uint)sequenceNumber);

        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], VhdxCrc32C.Compute(entry, 4));
        return entry;
    }

    /// <summary>Sectors holding the entry header and <paramref name="count"/> descriptors (128 slots a sector, the header taking two).</summary>
    private static long DescriptorSectors(uint count) => ((long)count + 2 + 127) / 128;

    /// <summary>
    /// QEMU's entry validation at the cursor. A sector that does not start a plausible entry (or does not follow
    /// <paramref name="previous"/>) moves the cursor one sector on; an entry whose descriptors are malformed fails
    /// the open; an entry with a wrong checksum is stepped over whole.
    /// </summary>
    private static EntryHeader? ValidateEntry(Cursor log, Guid logGuid, ulong previous, byte[] sector)
    {
        var entry = PeekHeader(log, sector);
        if (!IsValidHeader(entry, logGuid, log.Length) || (previous > 0 && entry.SequenceNumber != previous + 1))
        {
            log.Skip(1);
            return null;
        }

        var descriptorSectors = DescriptorSectors(entry.DescriptorCount);
        var crc = uint.MaxValue;
        var left = entry.DescriptorCount;
        for (long s = 0; s < descriptorSectors; s++)
        {
            log.ReadSector(sector);
            if (s == 0)
            {
                sector.AsSpan(4, 4).Clear();
            }

            for (var at = s == 0 ? EntryHeaderSize : 0; at < SectorSize && left > 0; at += DescriptorSize, left--)
            {
                if (!IsValidDescriptor(sector.AsSpan(at, DescriptorSize), entry.SequenceNumber))
                {
                    throw new InvalidImageException("Invalid argument", log.FileOffset);
                }
            }

            crc = VhdxCrc32C.Update(crc, sector);
        }

        for (var s = descriptorSectors; s < entry.EntryLength / SectorSize; s++)
        {
            log.ReadSector(sector);
            crc = VhdxCrc32C.Update(crc, sector);
        }

        return ~crc == entry.Checksum ? entry : null;
    }

    private static EntryHeader PeekHeader(Cursor log, byte[] sector)
    {
        log.PeekSector(sector);
        var h = sector.AsSpan();
        return new EntryHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(h) == EntrySignature ? BinaryPrimitives.ReadUInt32LittleEndian(h[8..]) : uint.MaxValue,
            BinaryPrimitives.ReadUInt64LittleEndian(h[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(h[24..]),
            new Guid(h.Slice(32, 16)),
            BinaryPrimitives.ReadUInt64LittleEndian(h[48..]),
            BinaryPrimitives.ReadUInt64LittleEndian(h[56..]),
            BinaryPrimitives.ReadUInt32LittleEndian(h[4..]));
    }

    // A missing signature shows as an entry length of all ones, which no log can hold.
    private static bool IsValidHeader(EntryHeader entry, Guid logGuid, long logLength) =>
        entry.EntryLength <= logLength && entry.EntryLength % SectorSize == 0 && entry.SequenceNumber != 0
        && entry.LogGuid == logGuid && (ulong)entry.DescriptorCount * DescriptorSize <= entry.EntryLength;

    private static bool IsValidDescriptor(ReadOnlySpan<byte> d, ulong sequenceNumber)
    {
        if (BinaryPrimitives.ReadUInt64LittleEndian(d[24..]) != sequenceNumber || BinaryPrimitives.ReadUInt64LittleEndian(d[16..]) % SectorSize != 0)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(d) switch
        {
            ZeroDescriptorSignature => BinaryPrimitives.ReadUInt64LittleEndian(d[8..]) % SectorSize == 0,
            DataDescriptorSignature => true,
            _ => false,
        };
    }

    /// <summary>A read position in the circular log, wrapping at its end.</summary>
    private sealed class Cursor(IStorage file, long offset, long length)
    {
        public long Length => length;

        public uint Position { get; set; }

        public long FileOffset => offset + Position;

        public void PeekSector(Span<byte> sector) => file.Read(offset + Position, sector);

        public void ReadSector(Span<byte> sector)
        {
            file.Read(offset + Position, sector);
            Skip(1);
        }

        /// <summary>Reads sector <paramref name="index"/> counted from <paramref name="start"/>, without moving.</summary>
        public void ReadAt(uint start, int index, Span<byte> sector) =>
            file.Read(offset + (long)((start + ((ulong)index * SectorSize)) % (ulong)length), sector);

        public void Skip(long sectors) => Position = (uint)((Position + ((ulong)sectors * SectorSize)) % (ulong)length);
    }
}
