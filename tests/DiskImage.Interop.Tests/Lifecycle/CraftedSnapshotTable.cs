using System.Buffers.Binary;
using System.Text;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// A version-2 image whose snapshot table entries carry extra data of 0, 8, 16, 24 and 50 bytes, as older
/// QEMU versions and other tools write them: none, only the 64-bit VM state size, VM state and disk size,
/// QEMU's 24 bytes, and 24 known bytes followed by 26 unknown ones with a recognisable payload. qemu-img
/// makes the image and its snapshots; the table is then rewritten in place within the cluster qemu-img
/// allocated for it, so the refcounts stay right and <c>qemu-img check</c> finds the file clean.
/// </summary>
internal static class CraftedSnapshotTable
{
    /// <summary>The extra data sizes of the entries, in table order.</summary>
    public static readonly int[] ExtraSizes = [0, 8, 16, 24, 50];

    /// <summary>The unknown extra data of the last entry (bytes 24 to 50): 26 recognisable bytes.</summary>
    public static readonly byte[] UnknownPayload = "UNKNOWN-EXTRA-DATA-PAYLOAD"u8.ToArray();

    public static void Create(string path)
    {
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "compat=0.10", path, "8M");
        for (var i = 0; i < ExtraSizes.Length; i++)
        {
            ExternalTool.QemuIo("-f", "qcow2", "-c", $"write -P {i + 1} {i}M 64k", path);
            ExternalTool.QemuImg("snapshot", "-c", $"snap{i}", path);
        }

        Rewrite(path);
    }

    /// <summary>One entry's extra data as stored, by table position.</summary>
    public static List<byte[]> ExtraData(string path) => ReadEntries(File.ReadAllBytes(path)).Select(e => e.Extra).ToList();

    private static void Rewrite(string path)
    {
        var file = File.ReadAllBytes(path);
        var size = BinaryPrimitives.ReadInt64BigEndian(file.AsSpan(24));
        var tableOffset = (int)BinaryPrimitives.ReadInt64BigEndian(file.AsSpan(64));
        var entries = ReadEntries(file);
        var table = new List<byte>();
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var extra = new byte[ExtraSizes[i]];
            var known = new byte[24];
            BinaryPrimitives.WriteInt64BigEndian(known, 4096L * (i + 1));        // VM state size
            BinaryPrimitives.WriteInt64BigEndian(known.AsSpan(8), size);          // disk size
            BinaryPrimitives.WriteInt64BigEndian(known.AsSpan(16), 1000 + i);     // icount
            known.AsSpan(0, Math.Min(24, extra.Length)).CopyTo(extra);
            if (extra.Length > 24)
            {
                UnknownPayload.AsSpan(0, extra.Length - 24).CopyTo(extra.AsSpan(24));
            }

            while (table.Count % 8 != 0)
            {
                table.Add(0);
            }

            var fixedPart = entry.Fixed.ToArray();
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart.AsSpan(32), 4096u * (uint)(i + 1));
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart.AsSpan(36), (uint)extra.Length);
            table.AddRange(fixedPart);
            table.AddRange(extra);
            table.AddRange(Encoding.UTF8.GetBytes(entry.Id));
            table.AddRange(Encoding.UTF8.GetBytes(entry.Name));
        }

        var clusterSize = 1 << (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(20));
        if (table.Count > clusterSize)
        {
            throw new InvalidOperationException("the crafted table must stay within the cluster qemu-img allocated");
        }

        using var stream = File.Open(path, FileMode.Open, FileAccess.Write);
        stream.Position = tableOffset;
        stream.Write([.. table]);
    }

    private static List<(byte[] Fixed, byte[] Extra, string Id, string Name)> ReadEntries(byte[] file)
    {
        var count = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(60));
        var offset = (int)BinaryPrimitives.ReadInt64BigEndian(file.AsSpan(64));
        var entries = new List<(byte[], byte[], string, string)>();
        for (var i = 0; i < count; i++)
        {
            offset = (offset + 7) & ~7;
            var fixedPart = file.AsSpan(offset, 40).ToArray();
            var idLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(12));
            var nameLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(14));
            var extraLength = (int)BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(36));
            var extra = file.AsSpan(offset + 40, extraLength).ToArray();
            var id = Encoding.UTF8.GetString(file, offset + 40 + extraLength, idLength);
            var name = Encoding.UTF8.GetString(file, offset + 40 + extraLength + idLength, nameLength);
            entries.Add((fixedPart, extra, id, name));
            offset += 40 + extraLength + idLength + nameLength;
        }

        return entries;
    }
}
