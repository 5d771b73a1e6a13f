using System.Text;

namespace DiskImage.Formats.Vvfat;

/// <summary>
/// The directory entries QEMU's vvfat writes for one host name: the long-name entries (always, even for a name that
/// fits 8.3), then the 8.3 entry, whose name is the host name upper-cased with what FAT cannot hold left out and a
/// <c>~N</c> tail where that lost anything or clashed with an earlier entry of the same directory.
/// </summary>
internal static class VvfatNames
{
    public const int EntrySize = 32;

    private const byte LongNameAttributes = 0x0f;

    /// <summary>The byte offsets in a long-name entry of its 13 UTF-16 characters' bytes, in order.</summary>
    private static readonly int[] LongNameOffsets = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 28, 29, 30, 31];

    public static bool IsLongName(ReadOnlySpan<byte> entry) => entry[11] == LongNameAttributes;

    /// <summary>
    /// Appends the long-name entries and the 8.3 entry for <paramref name="name"/> to <paramref name="directory"/>;
    /// returns the 8.3 entry's index. Entries from <paramref name="directoryStart"/> on are this directory's, the ones
    /// a new 8.3 name must not repeat. Null when no tail up to ~999998 makes the name unique (QEMU then fails too).
    /// </summary>
    public static int? Append(List<byte[]> directory, int directoryStart, string name)
    {
        var firstLong = directory.Count;
        var units = name.Length;
        var count = (units * 2 + 25) / 26;
        for (var i = 0; i < count; i++)
        {
            var entry = new byte[EntrySize];
            entry[11] = LongNameAttributes;
            entry[0] = (byte)((count - i) | (i == 0 ? 0x40 : 0));
            directory.Add(entry);
        }

        for (var i = 0; i < 26 * count; i++)
        {
            var entry = directory[directory.Count - 1 - (i / 26)];
            var offset = LongNameOffsets[i % 26];
            entry[offset] = i >= 2 * units + 2 ? (byte)0xff
                : i / 2 >= units ? (byte)0
                : i % 2 == 0 ? (byte)(name[i / 2] & 0xff) : (byte)(name[i / 2] >> 8);
        }

        var shortEntry = ShortEntry(directory, directoryStart, name);
        if (shortEntry is null)
        {
            return null;
        }

        directory.Add(shortEntry);
        var checksum = Checksum(shortEntry);
        for (var i = firstLong; i < directory.Count - 1; i++)
        {
            directory[i][13] = checksum;
        }

        return directory.Count - 1;
    }

    /// <summary>An entry named <c>.</c> or <c>..</c> (a subdirectory's first two).</summary>
    public static byte[] DotEntry(string dots)
    {
        var entry = new byte[EntrySize];
        entry.AsSpan(0, 11).Fill((byte)' ');
        Encoding.ASCII.GetBytes(dots, entry);
        return entry;
    }

    private static byte[]? ShortEntry(List<byte[]> directory, int directoryStart, string name)
    {
        var entry = new byte[EntrySize];
        entry.AsSpan(0, 11).Fill((byte)' ');
        var lossy = false;
        var j = 0;
        var runes = name.EnumerateRunes().ToList();
        var lastDot = -1;
        for (var k = 0; k < runes.Count; k++)
        {
            var c = runes[k];
            if (c.Value == '.')
            {
                if (j == 0)
                {
                    lossy = true;
                }
                else
                {
                    lossy |= lastDot >= 0;
                    lastDot = k;
                }
            }
            else if (lastDot < 0)
            {
                var v = ShortChar(c);
                if (j < 8 && v != 0)
                {
                    entry[j++] = v;
                }
                else
                {
                    lossy = true;
                }
            }
        }

        if (lastDot >= 0)
        {
            j = 0;
            for (var k = lastDot + 1; k < runes.Count; k++)
            {
                var v = ShortChar(runes[k]);
                if (j < 3 && v != 0)
                {
                    entry[8 + j++] = v;
                }
                else
                {
                    lossy = true;
                }
            }
        }

        for (j = 0; j < 8 && entry[j] != ' '; j++)
        {
        }

        for (var i = lossy ? 1 : 0; i < 999999; i++)
        {
            if (i > 0)
            {
                var tail = "~" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                Encoding.ASCII.GetBytes(tail, entry.AsSpan(Math.Min(j, 8 - tail.Length)));
            }

            var clash = false;
            for (var e = directoryStart; e < directory.Count && !clash; e++)
            {
                clash = !IsLongName(directory[e]) && directory[e].AsSpan(0, 11).SequenceEqual(entry.AsSpan(0, 11));
            }

            if (!clash)
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>A character as an 8.3 name holds it (upper case), or 0 for one it cannot.</summary>
    private static byte ShortChar(Rune c)
    {
        // Unicode's simple upper case, as GLib maps it: .NET's invariant mapping leaves out the two letters whose upper
        // case is ASCII (dotless i and long s).
        var upper = c.Value switch { 0x131 => 'I', 0x17f => 'S', _ => Rune.ToUpperInvariant(c).Value };
        return upper is >= '0' and <= '9' or >= 'A' and <= 'Z' || (upper < 128 && "$%'-_@~`!(){}^#&".Contains((char)upper, StringComparison.Ordinal)) ? (byte)upper : (byte)0;
    }

    private static byte Checksum(ReadOnlySpan<byte> entry)
    {
        byte sum = 0;
        for (var i = 0; i < 11; i++)
        {
            sum = (byte)((((sum & 0xfe) >> 1) | ((sum & 1) != 0 ? 0x80 : 0)) + entry[i]);
        }

        return sum;
    }
}
