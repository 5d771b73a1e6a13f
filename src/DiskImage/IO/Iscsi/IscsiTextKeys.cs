using System.Text;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// The <c>key=value</c> pairs of login and text PDUs: each pair ends with a NUL byte, keys and values are UTF-8.
/// Parsing is bounded (at most <see cref="MaxPairs"/> pairs, names of at most 63 bytes, values of at most 8 KiB) and
/// refuses anything malformed, so a hostile target cannot make the negotiation misread or grow without end.
/// </summary>
internal static class IscsiTextKeys
{
    public const int MaxPairs = 256;
    private const int MaxKeyLength = 63;
    private const int MaxValueLength = 8192;

    public static byte[] Encode(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            text.Append(key).Append('=').Append(value).Append('\0');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>The pairs in order; null when the text is malformed (no '=', an empty or overlong key or value, too many pairs, a repeated key).</summary>
    public static List<KeyValuePair<string, string>>? Parse(ReadOnlySpan<byte> data)
    {
        var result = new List<KeyValuePair<string, string>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (data.Length > 0)
        {
            var end = data.IndexOf((byte)0);
            // Padding may follow the last pair; a pair without its NUL is cut short.
            var pair = end < 0 ? data : data[..end];
            data = end < 0 ? [] : data[(end + 1)..];
            if (pair.Length == 0)
            {
                if (data.IndexOfAnyExcept((byte)0) >= 0)
                {
                    return null;
                }

                break;
            }

            var eq = pair.IndexOf((byte)'=');
            if (eq <= 0 || eq > MaxKeyLength || pair.Length - eq - 1 > MaxValueLength || result.Count >= MaxPairs)
            {
                return null;
            }

            string key;
            string value;
            try
            {
                var strict = new UTF8Encoding(false, true);
                key = strict.GetString(pair[..eq]);
                value = strict.GetString(pair[(eq + 1)..]);
            }
            catch (DecoderFallbackException)
            {
                return null;
            }

            if (!seen.Add(key))
            {
                return null;
            }

            result.Add(new(key, value));
        }

        return result;
    }
}
