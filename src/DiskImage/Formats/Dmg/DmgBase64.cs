namespace DiskImage.Formats.Dmg;

/// <summary>
/// Base64 decoding as GLib's decoder does it, which QEMU uses for the property list: characters outside the
/// alphabet are skipped, '=' counts as a zero digit that suppresses the bytes it pads, and a trailing partial group
/// is dropped. It never fails.
/// </summary>
internal static class DmgBase64
{
    public static byte[] Decode(ReadOnlySpan<byte> text)
    {
        var output = new byte[(text.Length / 4 * 3) + 3];
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

        return output.AsSpan(0, length).ToArray();
    }

    private static int Rank(byte c) => c switch
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
