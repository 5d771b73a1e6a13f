using System.Text;

namespace DiskImage.Nbd;

/// <summary>
/// Finds a user's key in a <c>keys.psk</c> file (lines <c>USERNAME:HEXKEY</c>) as qemu's client does: the first
/// line that starts with the name and a colon wins, the key is the rest of that line (a carriage return included),
/// and the file ends at its first NUL byte, since qemu handles it as a C string. The file is scanned in pieces,
/// so a hostile file costs no more memory than its key line, which is bounded.
/// </summary>
internal static class PskKeyFile
{
    /// <summary>Longest key line kept (hex digits); far beyond any real key (GnuTLS keys are at most 64 bytes).</summary>
    public const int MaxKeyLength = 4096;

    /// <summary>The key of <paramref name="username"/> as its bytes in the file, or null when no line names the user.</summary>
    public static byte[]? Find(Stream content, string username, string path)
    {
        ArgumentNullException.ThrowIfNull(content);
        var prefix = Encoding.UTF8.GetBytes(username + ":");
        var buffer = new byte[64 * 1024];
        var key = new List<byte>();

        // Where the current line stands: -1 once it cannot be the user's, else how many prefix bytes matched.
        var matched = 0;
        while (true)
        {
            var count = content.Read(buffer);
            if (count == 0)
            {
                return matched == prefix.Length ? [.. key] : null;
            }

            foreach (var b in buffer.AsSpan(0, count))
            {
                if (b == 0)
                {
                    return matched == prefix.Length ? [.. key] : null;
                }

                if (matched == prefix.Length)
                {
                    if (b == (byte)'\n')
                    {
                        return [.. key];
                    }

                    if (key.Count == MaxKeyLength)
                    {
                        throw new ImageAccessException($"Cannot read PSK file {path}: the key of {username} is longer than {MaxKeyLength} characters");
                    }

                    key.Add(b);
                }
                else if (b == (byte)'\n')
                {
                    matched = 0;
                }
                else if (matched >= 0)
                {
                    matched = prefix[matched] == b ? matched + 1 : -1;
                }
            }
        }
    }
}
