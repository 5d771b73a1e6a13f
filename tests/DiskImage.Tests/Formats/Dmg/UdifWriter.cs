using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DiskImage.Tests.Formats.Dmg;

/// <summary>
/// A small UDIF (dmg) writer for tests: chunks stored raw, zlib-compressed or as zero/ignore entries (or any type with
/// made-up fields), their "mish" block in an XML property list (base64) or in a binary resource fork, then the
/// "koly" trailer. No Debian tool writes the format, so the tests make their own and let qemu-img judge them.
/// </summary>
internal static class UdifWriter
{
    public const uint TypeZero = 0, TypeRaw = 1, TypeIgnore = 2, TypeZlib = 0x80000005, TypeBzip2 = 0x80000006, TypeLzfse = 0x80000007;
    public const uint TypeComment = 0x7FFFFFFE, TypeTerminator = 0xFFFFFFFF;

    /// <summary>Trailer field offsets, for tests that damage them.</summary>
    public const int DataForkOffsetField = 0x18, ResourceForkOffsetField = 0x28, ResourceForkLengthField = 0x30;
    public const int XmlOffsetField = 0xD8, XmlLengthField = 0xE0, SectorCountField = 0x1EC;

    /// <summary>One chunk entry as stored: sector and offset relative to the block, as the format has them.</summary>
    public readonly record struct Entry(uint Type, ulong Sector, ulong SectorCount, ulong Offset, ulong Length);

    /// <summary>One run of sectors to store: <paramref name="Data"/> for raw and zlib chunks (its length in whole sectors).</summary>
    public readonly record struct Part(uint Type, long Sectors, byte[]? Data = null);

    /// <summary>An image whose chunks hold <paramref name="parts"/> in order, one mish block, with a terminator entry.</summary>
    public static byte[] Build(IEnumerable<Part> parts, bool resourceFork = false, ulong? sectorCount = null)
    {
        var data = new MemoryStream();
        var entries = new List<Entry>();
        ulong sector = 0;
        foreach (var part in parts)
        {
            var stored = part.Type switch
            {
                TypeZlib => Compress(part.Data!),
                TypeRaw or TypeBzip2 or TypeLzfse => part.Data ?? [],
                _ => [],
            };
            entries.Add(new Entry(part.Type, sector, (ulong)part.Sectors, (ulong)data.Length, (ulong)stored.Length));
            data.Write(stored);
            sector += (ulong)part.Sectors;
        }

        entries.Add(new Entry(TypeTerminator, sector, 0, (ulong)data.Length, 0));
        return Assemble(data.ToArray(), [Mish(0, 0, entries)], resourceFork, sectorCount ?? sector);
    }

    /// <summary>A data fork, then the blocks as a resource fork or a property list, then the trailer.</summary>
    public static byte[] Assemble(byte[] dataFork, IReadOnlyList<byte[]> blocks, bool resourceFork, ulong sectorCount)
    {
        var tables = resourceFork ? ResourceFork(blocks) : PropertyList(blocks);
        var koly = new byte[512];
        "koly"u8.CopyTo(koly);
        BinaryPrimitives.WriteUInt32BigEndian(koly.AsSpan(4), 4);
        BinaryPrimitives.WriteUInt32BigEndian(koly.AsSpan(8), 512);
        BinaryPrimitives.WriteUInt32BigEndian(koly.AsSpan(12), 1);
        BinaryPrimitives.WriteUInt64BigEndian(koly.AsSpan(0x20), (ulong)dataFork.Length);
        var field = resourceFork ? ResourceForkOffsetField : XmlOffsetField;
        BinaryPrimitives.WriteUInt64BigEndian(koly.AsSpan(field), (ulong)dataFork.Length);
        BinaryPrimitives.WriteUInt64BigEndian(koly.AsSpan(field + 8), (ulong)tables.Length);
        BinaryPrimitives.WriteUInt64BigEndian(koly.AsSpan(SectorCountField), sectorCount);
        return [.. dataFork, .. tables, .. koly];
    }

    /// <summary>A mish block: the 204-byte header, then the 40-byte entries.</summary>
    public static byte[] Mish(ulong firstSector, ulong dataOffset, IReadOnlyList<Entry> entries)
    {
        var block = new byte[204 + (40 * entries.Count)];
        "mish"u8.CopyTo(block);
        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan(8), firstSector);
        BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan(0x10), entries.Aggregate(0UL, (sum, e) => sum + e.SectorCount));
        BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan(0x18), dataOffset);
        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(200), (uint)entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var at = block.AsSpan(204 + (40 * i));
            BinaryPrimitives.WriteUInt32BigEndian(at, entries[i].Type);
            BinaryPrimitives.WriteUInt64BigEndian(at[8..], entries[i].Sector);
            BinaryPrimitives.WriteUInt64BigEndian(at[0x10..], entries[i].SectorCount);
            BinaryPrimitives.WriteUInt64BigEndian(at[0x18..], entries[i].Offset);
            BinaryPrimitives.WriteUInt64BigEndian(at[0x20..], entries[i].Length);
        }

        return block;
    }

    /// <summary>The XML form: a plist whose blkx array holds each block base64-encoded in a data element.</summary>
    public static byte[] PropertyList(IEnumerable<byte[]> blocks)
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n");
        xml.Append("<plist version=\"1.0\">\n<dict>\n\t<key>resource-fork</key>\n\t<dict>\n\t\t<key>blkx</key>\n\t\t<array>\n");
        var id = 0;
        foreach (var block in blocks)
        {
            xml.Append("\t\t\t<dict>\n\t\t\t\t<key>Data</key>\n\t\t\t\t<data>\n");
            var text = Convert.ToBase64String(block);
            for (var i = 0; i < text.Length; i += 52)
            {
                xml.Append("\t\t\t\t").Append(text.AsSpan(i, Math.Min(52, text.Length - i))).Append('\n');
            }

            xml.Append("\t\t\t\t</data>\n\t\t\t\t<key>ID</key>\n\t\t\t\t<string>").Append(id++).Append("</string>\n\t\t\t</dict>\n");
        }

        xml.Append("\t\t</array>\n\t</dict>\n</dict>\n</plist>\n");
        return Encoding.UTF8.GetBytes(xml.ToString());
    }

    /// <summary>The binary form: a 256-byte resource header (data offset, map offset, data length, map length), the data.</summary>
    public static byte[] ResourceFork(IEnumerable<byte[]> blocks)
    {
        var data = new MemoryStream();
        foreach (var block in blocks)
        {
            var size = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(size, (uint)block.Length);
            data.Write(size);
            data.Write(block);
        }

        var header = new byte[256];
        BinaryPrimitives.WriteUInt32BigEndian(header, 256);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)(256 + data.Length));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), (uint)data.Length);
        return [.. header, .. data.ToArray()];
    }

    /// <summary>Sets a big-endian 64-bit trailer field of a built image (the trailer is its last 512 bytes).</summary>
    public static void SetTrailerField(byte[] image, int field, ulong value) =>
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(image.Length - 512 + field), value);

    /// <summary>zlib's format (header, deflate, Adler-32), as UDIF's UDZO chunks hold it.</summary>
    public static byte[] Compress(byte[] data)
    {
        var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Sectors of a recognisable pattern: each byte from its offset and a seed.</summary>
    public static byte[] Pattern(int sectors, int seed)
    {
        var bytes = new byte[sectors * 512];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((i * 31 / 7) + seed);
        }

        return bytes;
    }
}
