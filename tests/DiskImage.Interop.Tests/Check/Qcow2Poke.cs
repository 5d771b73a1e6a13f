using System.Buffers.Binary;

namespace DiskImage.Interop.Tests.Check;

/// <summary>Byte pokes that plant known damage in a qcow2 file (16-bit refcounts, standard L2 entries).</summary>
internal static class Qcow2Poke
{
    public static void SetRefcount(string path, long cluster, ushort value)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        var clusterBits = ReadUInt32(file, 20);
        var perBlock = (1L << (int)clusterBits) / 2;
        var tableOffset = (long)ReadUInt64(file, 48);
        var block = (long)(ReadUInt64(file, tableOffset + (cluster / perBlock * 8)) & ~0x1ffUL);
        Span<byte> raw = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(raw, value);
        file.Position = block + (cluster % perBlock * 2);
        file.Write(raw);
    }

    /// <summary>Overwrites L2 entry <paramref name="index"/> of the first L2 table.</summary>
    public static void SetFirstL2Entry(string path, int index, ulong entry)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        var l1Offset = (long)ReadUInt64(file, 40);
        var l2Offset = (long)(ReadUInt64(file, l1Offset) & 0x00fffffffffffe00UL);
        Span<byte> raw = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(raw, entry);
        file.Position = l2Offset + (index * 8L);
        file.Write(raw);
    }

    public static long L1Offset(string path)
    {
        using var file = File.OpenRead(path);
        return (long)ReadUInt64(file, 40);
    }

    /// <summary>File offsets of the snapshot table entries, and the offset just past the last one.</summary>
    public static (List<long> Entries, long End) SnapshotEntries(string path)
    {
        using var file = File.OpenRead(path);
        var count = ReadUInt32(file, 60);
        var offset = (long)ReadUInt64(file, 64);
        var entries = new List<long>();
        Span<byte> fixedPart = stackalloc byte[40];
        for (var i = 0; i < count; i++)
        {
            offset = (offset + 7) & ~7L;
            entries.Add(offset);
            file.Position = offset;
            file.ReadExactly(fixedPart);
            offset += 40 + BinaryPrimitives.ReadUInt32BigEndian(fixedPart[36..])
                + BinaryPrimitives.ReadUInt16BigEndian(fixedPart[12..]) + BinaryPrimitives.ReadUInt16BigEndian(fixedPart[14..]);
        }

        return (entries, offset);
    }

    public static void WriteUInt16(string path, long offset, ushort value)
    {
        Span<byte> raw = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(raw, value);
        WriteBytes(path, offset, raw);
    }

    public static void WriteUInt32(string path, long offset, uint value)
    {
        Span<byte> raw = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(raw, value);
        WriteBytes(path, offset, raw);
    }

    public static void WriteUInt64(string path, long offset, ulong value)
    {
        Span<byte> raw = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(raw, value);
        WriteBytes(path, offset, raw);
    }

    public static ulong ReadUInt64(string path, long offset)
    {
        using var file = File.OpenRead(path);
        return ReadUInt64(file, offset);
    }

    private static void WriteBytes(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        file.Write(bytes);
    }

    private static uint ReadUInt32(FileStream file, long offset)
    {
        Span<byte> raw = stackalloc byte[4];
        file.Position = offset;
        file.ReadExactly(raw);
        return BinaryPrimitives.ReadUInt32BigEndian(raw);
    }

    private static ulong ReadUInt64(FileStream file, long offset)
    {
        Span<byte> raw = stackalloc byte[8];
        file.Position = offset;
        file.ReadExactly(raw);
        return BinaryPrimitives.ReadUInt64BigEndian(raw);
    }
}
