using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>Makes the SUSP/Rock Ridge (RRIP 1.10) entries describing one node.</summary>
internal static class RockRidgeWriter
{
    private const uint TypeDirectory = 0x4000;
    private const uint TypeFile = 0x8000;
    private const uint TypeSymlink = 0xA000;
    private const int MaxEntry = 255;

    private const string ExtensionId = "RRIP_1991A";
    private const string ExtensionDescriptor = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
    private const string ExtensionSource = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

    /// <summary>Entries of a node's record in its parent: RR, PX, TF, then NM and SL (the long ones, which may move to a continuation area).</summary>
    public static List<byte[]> ForRecord(IsoBuildNode node, bool withName)
    {
        var entries = new List<byte[]> { RrFlags(node, withName), Px(node), Tf(node) };
        if (withName)
        {
            entries.AddRange(Nm(node.Name));
        }

        if (node.Kind == IsoNodeKind.Symlink)
        {
            entries.AddRange(Sl(node.SymlinkTarget ?? ""));
        }

        return entries;
    }

    /// <summary>Entries of the root's "." record: SP first (it announces SUSP), then the attributes and ER.</summary>
    public static List<byte[]> ForRootSelf(IsoBuildNode root)
    {
        var entries = new List<byte[]> { Sp() };
        entries.AddRange(ForRecord(root, withName: false));
        entries.Add(Er());
        return entries;
    }

    private static byte[] Header(string signature, int length)
    {
        var entry = new byte[length];
        entry[0] = (byte)signature[0];
        entry[1] = (byte)signature[1];
        entry[2] = (byte)length;
        entry[3] = 1;
        return entry;
    }

    private static byte[] Sp()
    {
        var entry = Header("SP", 7);
        entry[4] = 0xBE;
        entry[5] = 0xEF;
        return entry;
    }

    private static byte[] Er()
    {
        var id = Encoding.ASCII.GetBytes(ExtensionId);
        var descriptor = Encoding.ASCII.GetBytes(ExtensionDescriptor);
        var source = Encoding.ASCII.GetBytes(ExtensionSource);
        var entry = Header("ER", 8 + id.Length + descriptor.Length + source.Length);
        entry[4] = (byte)id.Length;
        entry[5] = (byte)descriptor.Length;
        entry[6] = (byte)source.Length;
        entry[7] = 1;
        id.CopyTo(entry, 8);
        descriptor.CopyTo(entry, 8 + id.Length);
        source.CopyTo(entry, 8 + id.Length + descriptor.Length);
        return entry;
    }

    /// <summary>The RRIP 1.09 "RR" entry, listing which entries follow; old readers look for it.</summary>
    private static byte[] RrFlags(IsoBuildNode node, bool withName)
    {
        var entry = Header("RR", 5);
        entry[4] = (byte)(0x01 | 0x80 | (withName ? 0x08 : 0) | (node.Kind == IsoNodeKind.Symlink ? 0x04 : 0));
        return entry;
    }

    private static byte[] Px(IsoBuildNode node)
    {
        var type = node.Kind switch
        {
            IsoNodeKind.Directory => TypeDirectory,
            IsoNodeKind.Symlink => TypeSymlink,
            _ => TypeFile,
        };
        var links = node.Kind == IsoNodeKind.Directory ? 2u + (uint)node.Children.Values.Count(c => c.Kind == IsoNodeKind.Directory) : 1u;
        var entry = Header("PX", 36);
        BothEndian.WriteUInt32(entry.AsSpan(4), type | (node.Mode & 0xFFF));
        BothEndian.WriteUInt32(entry.AsSpan(12), links);
        BothEndian.WriteUInt32(entry.AsSpan(20), node.Uid);
        BothEndian.WriteUInt32(entry.AsSpan(28), node.Gid);
        return entry;
    }

    /// <summary>TF with modification, access and attribute-change times in the short form.</summary>
    private static byte[] Tf(IsoBuildNode node)
    {
        var entry = Header("TF", 5 + (3 * IsoDates.ShortLength));
        entry[4] = 0x02 | 0x04 | 0x08;
        IsoDates.WriteShort(entry.AsSpan(5), node.ModificationTime);
        IsoDates.WriteShort(entry.AsSpan(12), node.AccessTime);
        IsoDates.WriteShort(entry.AsSpan(19), node.ModificationTime);
        return entry;
    }

    /// <summary>NM entries; names longer than one entry continue in the next (flag bit 0).</summary>
    private static IEnumerable<byte[]> Nm(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        const int Room = MaxEntry - 5;
        for (var position = 0; position < bytes.Length || position == 0; position += Room)
        {
            var length = Math.Min(Room, bytes.Length - position);
            var entry = Header("NM", 5 + length);
            entry[4] = (byte)(position + length < bytes.Length ? 1 : 0);
            bytes.AsSpan(position, length).CopyTo(entry.AsSpan(5));
            yield return entry;
            if (bytes.Length == 0)
            {
                yield break;
            }
        }
    }

    /// <summary>SL entries: one component record per path component; long components and long targets continue.</summary>
    private static List<byte[]> Sl(string target)
    {
        var components = new List<(byte Flags, byte[] Content)>();
        var parts = target.Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length == 0)
            {
                if (i == 0 && target.Length > 0)
                {
                    components.Add((0x08, []));
                }

                continue;
            }

            if (part == ".")
            {
                components.Add((0x02, []));
            }
            else if (part == "..")
            {
                components.Add((0x04, []));
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes(part);
                const int Chunk = 200;
                for (var position = 0; position < bytes.Length; position += Chunk)
                {
                    var length = Math.Min(Chunk, bytes.Length - position);
                    components.Add(((byte)(position + length < bytes.Length ? 1 : 0), bytes[position..(position + length)]));
                }
            }
        }

        var entries = new List<byte[]>();
        var current = new List<(byte Flags, byte[] Content)>();
        var currentLength = 5;
        void Flush(bool more)
        {
            var entry = Header("SL", currentLength);
            entry[4] = (byte)(more ? 1 : 0);
            var position = 5;
            foreach (var (flags, content) in current)
            {
                entry[position] = flags;
                entry[position + 1] = (byte)content.Length;
                content.CopyTo(entry, position + 2);
                position += 2 + content.Length;
            }

            entries.Add(entry);
            current.Clear();
            currentLength = 5;
        }

        foreach (var component in components)
        {
            if (currentLength + 2 + component.Content.Length > MaxEntry)
            {
                Flush(more: true);
            }

            current.Add(component);
            currentLength += 2 + component.Content.Length;
        }

        Flush(more: false);
        return entries;
    }
}
