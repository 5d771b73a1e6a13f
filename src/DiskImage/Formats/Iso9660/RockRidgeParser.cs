using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>Interprets Rock Ridge (RRIP 1.09/1.10/1.12) entries among a record's SUSP entries.</summary>
internal static class RockRidgeParser
{
    private const byte NameContinues = 0x01;
    private const byte NameCurrent = 0x02;
    private const byte NameParent = 0x04;

    private const byte ComponentContinues = 0x01;
    private const byte ComponentCurrent = 0x02;
    private const byte ComponentParent = 0x04;
    private const byte ComponentRoot = 0x08;

    private const byte TimeLongForm = 0x80;

    /// <summary>Longest name or link target accepted from NM/SL continuations.</summary>
    public const int MaxTextLength = 4096;

    public static RockRidgeAttributes Parse(List<SuspEntry> entries, long fileOffset)
    {
        var result = new RockRidgeAttributes();
        StringBuilder? name = null;
        StringBuilder? link = null;
        var linkComponentContinues = false;
        foreach (var entry in entries)
        {
            var data = entry.Data.AsSpan();
            switch (entry.Signature)
            {
                case "RR":
                    result.Present = true;
                    break;
                case "PX" when data.Length >= 32:
                    result.Present = true;
                    result.Mode = BothEndian.ReadUInt32(data, "Rock Ridge mode", fileOffset);
                    result.Links = BothEndian.ReadUInt32(data[8..], "Rock Ridge link count", fileOffset);
                    result.Uid = BothEndian.ReadUInt32(data[16..], "Rock Ridge uid", fileOffset);
                    result.Gid = BothEndian.ReadUInt32(data[24..], "Rock Ridge gid", fileOffset);
                    if (data.Length >= 40)
                    {
                        result.Inode = BothEndian.ReadUInt32(data[32..], "Rock Ridge inode", fileOffset);
                    }

                    break;
                case "NM" when data.Length >= 1:
                    result.Present = true;
                    if ((data[0] & (NameCurrent | NameParent)) != 0)
                    {
                        result.NameIsSpecial = true;
                        break;
                    }

                    name ??= new StringBuilder();
                    name.Append(Encoding.UTF8.GetString(data[1..]));
                    CheckLength(name, fileOffset);
                    break;
                case "SL" when data.Length >= 1:
                    result.Present = true;
                    link ??= new StringBuilder();
                    ParseSymlink(data[1..], link, ref linkComponentContinues, fileOffset);
                    break;
                case "TF" when data.Length >= 1:
                    result.Present = true;
                    ParseTimes(data, result);
                    break;
                case "RE":
                    result.Present = true;
                    result.Relocated = true;
                    break;
                case "CL" when data.Length >= 8:
                    result.Present = true;
                    result.ChildLink = BothEndian.ReadUInt32(data, "Rock Ridge child link", fileOffset);
                    break;
                case "PL" when data.Length >= 8:
                    result.Present = true;
                    result.ParentLink = BothEndian.ReadUInt32(data, "Rock Ridge parent link", fileOffset);
                    break;
                case "ZF" when data.Length >= 12:
                    result.Present = true;
                    result.Compression = Encoding.ASCII.GetString(data[..2]);
                    result.UncompressedSize = BothEndian.ReadUInt32(data[4..], "zisofs size", fileOffset);
                    break;
            }
        }

        result.Name = name?.ToString();
        result.SymlinkTarget = link?.ToString();
        return result;
    }

    private static void ParseSymlink(ReadOnlySpan<byte> components, StringBuilder target, ref bool previousContinues, long fileOffset)
    {
        var position = 0;
        while (position + 2 <= components.Length)
        {
            var flags = components[position];
            int length = components[position + 1];
            if (position + 2 + length > components.Length)
            {
                throw new InvalidImageException($"Rock Ridge symbolic link component overruns its entry at offset {fileOffset}", fileOffset);
            }

            var content = components.Slice(position + 2, length);
            position += 2 + length;
            if ((flags & ComponentRoot) != 0)
            {
                target.Clear().Append('/');
                previousContinues = false;
                continue;
            }

            var text = (flags & ComponentCurrent) != 0 ? "." : (flags & ComponentParent) != 0 ? ".." : Encoding.UTF8.GetString(content);
            if (target.Length > 0 && !previousContinues && target[^1] != '/')
            {
                target.Append('/');
            }

            target.Append(text);
            previousContinues = (flags & ComponentContinues) != 0;
            CheckLength(target, fileOffset);
        }
    }

    private static void ParseTimes(ReadOnlySpan<byte> data, RockRidgeAttributes result)
    {
        var flags = data[0];
        var size = (flags & TimeLongForm) != 0 ? IsoDates.LongLength : IsoDates.ShortLength;
        var position = 1;
        for (var bit = 0; bit < 7; bit++)
        {
            if ((flags & (1 << bit)) == 0)
            {
                continue;
            }

            if (position + size > data.Length)
            {
                return;
            }

            var field = data.Slice(position, size);
            var time = size == IsoDates.LongLength ? IsoDates.ReadLong(field) : IsoDates.ReadShort(field);
            position += size;
            switch (bit)
            {
                case 0: result.Creation = time; break;
                case 1: result.Modification = time; break;
                case 2: result.Access = time; break;
                case 3: result.AttributeChange = time; break;
            }
        }
    }

    private static void CheckLength(StringBuilder text, long fileOffset)
    {
        if (text.Length > MaxTextLength)
        {
            throw new InvalidImageException($"Rock Ridge name or link target at offset {fileOffset} is longer than {MaxTextLength} characters", fileOffset);
        }
    }
}
