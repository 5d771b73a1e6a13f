using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Dmg;

/// <summary>
/// The binary form of the tables: a resource fork whose data area is a run of length-prefixed resources, each a
/// "mish" block (the resource map after the data is not needed). Offsets are checked as QEMU checks them, in its
/// 32-bit arithmetic; bytes past the end of the file read as zeroes.
/// </summary>
internal static class DmgResourceFork
{
    /// <summary>Entries read from the file at a time: a block may be gigabytes long, memory stays small.</summary>
    private const int EntriesPerRead = 1024;

    public static void Read(IStorage file, DmgMishBlock mish, ulong begin, ulong length)
    {
        var dataOffset = ReadUInt32(file, begin);
        if (dataOffset > length)
        {
            throw new DmgTableException();
        }

        var count = ReadUInt32(file, begin + 8);
        if (count == 0 || unchecked(dataOffset + count) > length)
        {
            throw new DmgTableException();
        }

        var offset = begin + dataOffset;
        var end = offset + count;
        while (offset < end)
        {
            var size = ReadUInt32(file, offset);
            if (size == 0 || size > end - offset)
            {
                throw new DmgTableException();
            }

            offset += 4;
            ReadBlock(file, mish, offset, size);
            offset += size;
        }
    }

    /// <summary>One resource: its header, then its entries a slice at a time.</summary>
    private static void ReadBlock(IStorage file, DmgMishBlock mish, ulong offset, uint size)
    {
        Span<byte> header = stackalloc byte[DmgMishBlock.HeaderSize];
        ReadAt(file, offset, header);
        var (entries, firstSector, dataOffset) = DmgMishBlock.ParseHeader(header, size);
        var buffer = new byte[(int)Math.Min(entries, EntriesPerRead) * DmgMishBlock.EntrySize];
        var at = offset + DmgMishBlock.HeaderSize;
        while (entries > 0)
        {
            var n = (int)Math.Min(entries, EntriesPerRead);
            var slice = buffer.AsSpan(0, n * DmgMishBlock.EntrySize);
            ReadAt(file, at, slice);
            mish.AddEntries(slice, firstSector, dataOffset);
            at += (ulong)slice.Length;
            entries -= (uint)n;
        }
    }

    private static uint ReadUInt32(IStorage file, ulong offset)
    {
        Span<byte> raw = stackalloc byte[4];
        ReadAt(file, offset, raw);
        return BinaryPrimitives.ReadUInt32BigEndian(raw);
    }

    /// <summary>The offsets here lie below the trailer plus 8 GiB: far from overflowing a signed offset.</summary>
    private static void ReadAt(IStorage file, ulong offset, Span<byte> buffer) => file.Read((long)offset, buffer);
}
