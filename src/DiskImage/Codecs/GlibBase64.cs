namespace DiskImage.Codecs;

/// <summary>
/// Base64 decoding as GLib's decoder does it, which QEMU uses (for a dmg's property list, and for a secret once its
/// characters are checked): characters outside the alphabet are skipped, '=' counts as a zero digit that suppresses
/// the bytes it pads within its group of four, and a trailing partial group is dropped. It never fails.
/// </summary>
internal static class GlibBase64
{
    public static byte[] Decode(ReadOnlySpan<byte> text)
    {
        var output = new byte[(text.Length / 4 * 3) + 3];
        var length = Decode(text, output);
        return output.AsSpan(0, length).ToArray();
    }

    /// <summary>Decodes into <paramref name="output"/> (at least <c>text.Length / 4 * 3</c> bytes); returns how many were written.</summary>
    public static int Decode(ReadOnlySpan<byte> text, Span<byte> output)
    {
        var length = 0;
        uint value = 0;
        var digits = 0;
        byte last = 0, beforeLast = 0;
        foreach (var c in text)
        {
            var rank = Rank(c);
            if (rank < 0)
            {
                continue;
            }

            beforeLast = last;
            last = c;
            value = (value << 6) | (uint)rank;
            if (++digits == 4)
            {
                output[length++] = (byte)(value >> 16);
                if (beforeLast != '=')
                {
                    output[length++] = (byte)(value >> 8);
                }

                if (last != '=')
                {
                    output[length++] = (byte)value;
                }

                digits = 0;
            }
        }

        return length;
    }

    /// <summary>A character's 6-bit value ('=' as zero), or -1 for a character outside the alphabet.</summary>
    public static int Rank(byte c) => c switch
    {
        >= (byte)'A' and <= (byte)'Z' => c - 'A',
        >= (byte)'a' and <= (byte)'z' => c - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => c - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        (byte)'=' => 0,
        _ => -1,
    };
}
