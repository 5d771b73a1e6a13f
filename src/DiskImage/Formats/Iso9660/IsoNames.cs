using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>Decoding and checking of names read from an image.</summary>
internal static class IsoNames
{
    /// <summary>Replaces control characters so identifiers print on one line.</summary>
    public static string Sanitize(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\0', '\x1f') && !text.Contains('\x7f', StringComparison.Ordinal))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c < ' ' || c == '\x7f' ? '?' : c);
        }

        return builder.ToString();
    }

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// A plain ECMA-119 (or ISO 9660:1999) identifier without its ";1" version and the dot of an empty
    /// extension. Writers such as genisoimage -iso-level 4 store host names as UTF-8 bytes, so valid
    /// UTF-8 is read as such; anything else is taken byte for byte as Latin-1.
    /// </summary>
    public static string FromIso9660(ReadOnlySpan<byte> raw, bool isDirectory)
    {
        string text;
        try
        {
            text = s_strictUtf8.GetString(raw);
        }
        catch (DecoderFallbackException)
        {
            text = Encoding.Latin1.GetString(raw);
        }

        return Trim(text, isDirectory);
    }

    /// <summary>A Joliet identifier (UCS-2 big-endian) without its version.</summary>
    public static string FromJoliet(ReadOnlySpan<byte> raw, bool isDirectory) =>
        Trim(Encoding.BigEndianUnicode.GetString(raw[..(raw.Length & ~1)]), isDirectory);

    private static string Trim(string name, bool isDirectory)
    {
        if (!isDirectory)
        {
            var semicolon = name.LastIndexOf(';');
            if (semicolon > 0 && name.AsSpan(semicolon + 1).IndexOfAnyExceptInRange('0', '9') < 0)
            {
                name = name[..semicolon];
            }

            if (name.Length > 1 && name.EndsWith('.'))
            {
                name = name[..^1];
            }
        }

        return name;
    }

    /// <summary>
    /// Refuses names that cannot be one path component: empty, ".", "..", or containing '/' or NUL.
    /// Such names only come from damaged or crafted images and would let extraction escape its target.
    /// </summary>
    public static string Check(string name, long fileOffset)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidImageException($"ISO 9660 directory record at offset {fileOffset} has an unsafe file name '{Sanitize(name)}'", fileOffset);
        }

        return name;
    }
}
