using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Formats.Ova;

/// <summary>
/// Lists the regular files of a tar archive (POSIX ustar, GNU tar with long names, pax path records)
/// without extracting anything: each entry is a name plus an offset and size inside the archive.
/// </summary>
internal static class TarIndex
{
    private const int BlockSize = 512;

    /// <summary>More entries than this is not an OVA; a crafted archive cannot make the index grow without bound.</summary>
    private const int MaxEntries = 100_000;

    /// <summary>Long names and pax headers above this size are refused.</summary>
    private const int MaxMetadataSize = 1 << 20;

    public static bool LooksLikeTar(ReadOnlySpan<byte> header) =>
        header.Length >= BlockSize && header.Slice(257, 5).SequenceEqual("ustar"u8) && ChecksumMatches(header[..BlockSize]);

    /// <summary>The name of the first entry of a tar header block.</summary>
    public static string FirstName(ReadOnlySpan<byte> header) => HeaderName(header);

    public static List<TarEntry> Read(IStorage file)
    {
        var entries = new List<TarEntry>();
        var length = file.Length;
        var block = new byte[BlockSize];
        var offset = 0L;
        string? longName = null;
        while (offset + BlockSize <= length)
        {
            file.Read(offset, block);
            if (!block.AsSpan().ContainsAnyExcept((byte)0))
            {
                break;
            }

            if (!ChecksumMatches(block))
            {
                throw new InvalidImageException($"Invalid tar header at offset {offset}: bad checksum", offset);
            }

            var size = ParseNumber(block.AsSpan(124, 12), offset);
            var dataOffset = offset + BlockSize;
            if (size < 0 || size > length - dataOffset)
            {
                throw new InvalidImageException($"Invalid tar header at offset {offset}: entry runs past the end of the archive", offset);
            }

            var type = (char)block[156];
            switch (type)
            {
                case 'L':
                    longName = ReadText(file, dataOffset, size, offset).TrimEnd('\0');
                    break;
                case 'x':
                    longName = PaxPath(ReadText(file, dataOffset, size, offset)) ?? longName;
                    break;
                case '0' or '\0' or '7':
                    if (entries.Count >= MaxEntries)
                    {
                        throw new InvalidImageException("The tar archive has too many entries");
                    }

                    entries.Add(new TarEntry(longName ?? HeaderName(block), dataOffset, size));
                    longName = null;
                    break;
                default:
                    longName = null;
                    break;
            }

            offset = dataOffset + (size + BlockSize - 1) / BlockSize * BlockSize;
        }

        return entries;
    }

    private static string HeaderName(ReadOnlySpan<byte> block)
    {
        var name = CString(block[..100]);
        var ustarPrefix = block.Slice(257, 6).SequenceEqual("ustar\0"u8) ? CString(block.Slice(345, 155)) : "";
        return ustarPrefix.Length == 0 ? name : ustarPrefix + "/" + name;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static string ReadText(IStorage file, long offset, long size, long headerOffset)
    {
        if (size > MaxMetadataSize)
        {
            throw new InvalidImageException($"Invalid tar header at offset {headerOffset}: metadata entry too large", headerOffset);
        }

        var bytes = new byte[size];
        file.Read(offset, bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>The <c>path</c> record of a pax extended header ("LEN path=VALUE\n" records).</summary>
    private static string? PaxPath(string records)
    {
        foreach (var record in records.Split('\n'))
        {
            var space = record.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && record.AsSpan(space + 1).StartsWith("path=", StringComparison.Ordinal))
            {
                return record[(space + 1 + "path=".Length)..];
            }
        }

        return null;
    }

    /// <summary>An octal field, or GNU's base-256 form (high bit of the first byte set) for large sizes.</summary>
    private static long ParseNumber(ReadOnlySpan<byte> field, long headerOffset)
    {
        if ((field[0] & 0x80) != 0)
        {
            if (field[0] != 0x80 || field[1..4].ContainsAnyExcept((byte)0))
            {
                throw new InvalidImageException($"Invalid tar header at offset {headerOffset}: size out of range", headerOffset);
            }

            return BinaryPrimitives.ReadInt64BigEndian(field[4..]);
        }

        var text = Encoding.ASCII.GetString(field).Trim(' ', '\0');
        if (text.Length == 0)
        {
            return 0;
        }

        try
        {
            return Convert.ToInt64(text, 8);
        }
        catch (FormatException)
        {
            throw new InvalidImageException($"Invalid tar header at offset {headerOffset}: size is not a number", headerOffset);
        }
        catch (OverflowException)
        {
            throw new InvalidImageException($"Invalid tar header at offset {headerOffset}: size out of range", headerOffset);
        }
    }

    private static bool ChecksumMatches(ReadOnlySpan<byte> block)
    {
        var text = Encoding.ASCII.GetString(block.Slice(148, 8)).Trim(' ', '\0');
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) || text.Any(c => c is < '0' or > '7'))
        {
            return false;
        }

        var stored = Convert.ToInt32(text, 8);
        var sum = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            sum += i is >= 148 and < 156 ? ' ' : block[i];
        }

        return sum == stored;
    }
}
