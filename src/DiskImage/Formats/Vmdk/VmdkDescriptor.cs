using System.Globalization;
using System.Text;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// Reads a VMDK text descriptor the way QEMU does: keys are found by substring search (so a quirky file
/// means the same to both), extent lines are scanned field by field, and anything else is ignored.
/// </summary>
internal static class VmdkDescriptor
{
    /// <summary>createType values a separate descriptor file may carry.</summary>
    private static readonly string[] DescriptorFileTypes =
        ["monolithicFlat", "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"];

    /// <summary>Decodes descriptor bytes up to the first NUL (QEMU handles it as a C string).</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)0);
        return Encoding.Latin1.GetString(end < 0 ? bytes : bytes[..end]);
    }

    /// <summary>Whether <paramref name="header"/> starts like a descriptor file (blank and comment lines, then <c>version=1|2|3</c>).</summary>
    public static bool LooksLikeDescriptor(ReadOnlySpan<byte> header)
    {
        var p = 0;
        while (p < header.Length)
        {
            if (header[p] == (byte)'#')
            {
                while (p < header.Length && header[p] != (byte)'\n')
                {
                    p++;
                }

                p++;
                continue;
            }

            if (header[p] == (byte)' ')
            {
                while (p < header.Length && header[p] == (byte)' ')
                {
                    p++;
                }

                if (p < header.Length && header[p] == (byte)'\r')
                {
                    p++;
                }

                if (p == header.Length || header[p] != (byte)'\n')
                {
                    return false;
                }

                p++;
                continue;
            }

            var rest = header[p..];
            return rest.StartsWith("version=1\n"u8) || rest.StartsWith("version=2\n"u8) || rest.StartsWith("version=3\n"u8)
                || rest.StartsWith("version=1\r\n"u8) || rest.StartsWith("version=2\r\n"u8) || rest.StartsWith("version=3\r\n"u8);
        }

        return false;
    }

    /// <summary>The quoted value after <c>name="</c> at the first occurrence of <paramref name="name"/>; null when absent or unterminated.</summary>
    public static string? QuotedValue(string text, string name)
    {
        var at = text.IndexOf(name, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var start = at + name.Length + 2;
        if (start >= text.Length)
        {
            return null;
        }

        var end = text.IndexOf('"', start);
        return end < 0 ? null : text[start..end];
    }

    /// <summary>
    /// The createType of a separate descriptor file; other types (monolithicSparse, streamOptimized) are
    /// refused there, as QEMU refuses them.
    /// </summary>
    public static string ReadDescriptorFileType(string text)
    {
        var type = QuotedValue(text, "createType");
        if (type is null || type.Length > 127)
        {
            throw new InvalidImageException("invalid VMDK image descriptor");
        }

        if (!DescriptorFileTypes.Contains(type, StringComparer.Ordinal))
        {
            throw new UnsupportedFeatureException($"Unsupported image type '{type}'");
        }

        return type;
    }

    /// <summary>
    /// <c>CID</c> or <c>parentCID</c> (hexadecimal) from the first occurrence of the key in the 20-sector
    /// window QEMU reads; null when missing or not a number.
    /// </summary>
    public static uint? ReadCid(string text, bool parent)
    {
        if (text.Length > VmdkConstants.CidWindowBytes - 1)
        {
            text = text[..(VmdkConstants.CidWindowBytes - 1)];
        }

        var key = parent ? "parentCID" : "CID";
        var at = text.IndexOf(key, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var p = at + key.Length + 1;
        while (p < text.Length && char.IsWhiteSpace(text[p]))
        {
            p++;
        }

        if (p + 1 < text.Length && text[p] == '0' && (text[p + 1] is 'x' or 'X') && p + 2 < text.Length && char.IsAsciiHexDigit(text[p + 2]))
        {
            p += 2;
        }

        var start = p;
        while (p < text.Length && char.IsAsciiHexDigit(text[p]))
        {
            p++;
        }

        if (p == start)
        {
            return null;
        }

        // Long runs are cut to their low 32 bits rather than refused.
        var digits = text[Math.Max(start, p - 8)..p];
        return uint.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    /// <summary>The parent's file name from <c>parentFileNameHint="..."</c>, or null.</summary>
    public static string? ReadParentHint(string text)
    {
        if (text.Length > VmdkConstants.CidWindowBytes)
        {
            text = text[..VmdkConstants.CidWindowBytes];
        }

        var at = text.IndexOf("parentFileNameHint", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var start = at + "parentFileNameHint".Length + 2;
        var end = start <= text.Length ? text.IndexOf('"', start) : -1;
        if (end < 0 || end - start > 4095)
        {
            throw new InvalidImageException("Invalid parentFileNameHint in the VMDK descriptor");
        }

        return text[start..end];
    }

    /// <summary>The extent lines with RW access and a known type, in order; a malformed one is refused with QEMU's message.</summary>
    public static List<VmdkExtentLine> ReadExtents(string text)
    {
        var extents = new List<VmdkExtentLine>();

        // QEMU scans from every line start as sscanf does, whose leading white space includes line ends: a blank
        // line in front of an extent line scans as that extent too, so the extent is listed once more (and QEMU
        // reads the disk that way). Scans starting at the same first word give the same result; it is reused,
        // so blank runs cost no rescanning.
        var scanFrom = -1;
        (int Scan, string Access, long Sectors, string Type, string FileName, long FlatOffset) scanned = (0, "", 0, "", "", -1);
        for (var lineStart = 0; lineStart < text.Length; lineStart = NextLine(text, lineStart))
        {
            var lineEnd = text.IndexOf('\n', lineStart);
            var line = text[lineStart..(lineEnd < 0 ? text.Length : lineEnd)];
            if (scanFrom < lineStart)
            {
                scanFrom = lineStart;
                SkipSpace(text, ref scanFrom);
                var count = ScanLine(text, scanFrom, out var a, out var n, out var t, out var f, out var o);
                scanned = (count, a, n, t, f, o);
            }

            var (scan, access, sectors, typeName, fileName, flatOffset) = scanned;
            if (scan < 4 || access != "RW")
            {
                continue;
            }

            var invalid = typeName switch
            {
                "FLAT" => scan != 5 || flatOffset < 0,
                "VMFS" => scan != 4,
                _ => scan != 4,
            };
            if (invalid)
            {
                throw new InvalidImageException($"Invalid extent line: {line.TrimEnd('\r')}");
            }

            VmdkExtentType? type = typeName switch
            {
                "FLAT" => VmdkExtentType.Flat,
                "SPARSE" => VmdkExtentType.Sparse,
                "VMFS" => VmdkExtentType.Vmfs,
                "VMFSSPARSE" => VmdkExtentType.VmfsSparse,
                "SESPARSE" => VmdkExtentType.SeSparse,
                _ => null,
            };
            if (sectors <= 0 || type is null)
            {
                continue;
            }

            if (extents.Count == MaxExtents)
            {
                throw new InvalidImageException($"The VMDK descriptor names more than {MaxExtents} extents");
            }

            extents.Add(new VmdkExtentLine(sectors, type.Value, typeName, fileName, typeName == "VMFS" ? 0 : Math.Max(0, flatOffset)));
        }

        return extents;
    }

    /// <summary>
    /// Scans <c>%10s %ld %10s "%511[^\n\r"]" %ld</c> and returns how many fields matched, as sscanf would.
    /// </summary>
    /// <summary>Bound on extents, as each opens a file (QEMU has none; blank lines multiply extent lines).</summary>
    private const int MaxExtents = 65536;

    private static int NextLine(string text, int lineStart)
    {
        var newline = text.IndexOf('\n', lineStart);
        return newline < 0 ? text.Length : newline + 1;
    }

    private static int ScanLine(string line, int p, out string access, out long sectors, out string type, out string fileName, out long flatOffset)
    {
        access = type = fileName = "";
        sectors = 0;
        flatOffset = -1;
        if (!Word(line, ref p, out access))
        {
            return 0;
        }

        if (!Number(line, ref p, out sectors))
        {
            return 1;
        }

        if (!Word(line, ref p, out type))
        {
            return 2;
        }

        SkipSpace(line, ref p);
        if (p >= line.Length || line[p] != '"')
        {
            return 3;
        }

        p++;
        var start = p;
        while (p < line.Length && p - start < 511 && line[p] is not ('\n' or '\r' or '"'))
        {
            p++;
        }

        if (p == start)
        {
            return 3;
        }

        fileName = line[start..p];
        if (p >= line.Length || line[p] != '"')
        {
            return 4;
        }

        p++;
        return Number(line, ref p, out flatOffset) ? 5 : 4;
    }

    private static void SkipSpace(string line, ref int p)
    {
        while (p < line.Length && char.IsWhiteSpace(line[p]))
        {
            p++;
        }
    }

    private static bool Word(string line, ref int p, out string word)
    {
        SkipSpace(line, ref p);
        var start = p;
        while (p < line.Length && p - start < 10 && !char.IsWhiteSpace(line[p]))
        {
            p++;
        }

        word = line[start..p];
        return p > start;
    }

    private static bool Number(string line, ref int p, out long value)
    {
        SkipSpace(line, ref p);
        var start = p;
        if (p < line.Length && line[p] is '+' or '-')
        {
            p++;
        }

        while (p < line.Length && char.IsAsciiDigit(line[p]))
        {
            p++;
        }

        var signed = p > start && line[start] is '+' or '-';
        if (p - start - (signed ? 1 : 0) <= 0)
        {
            value = 0;
            return false;
        }

        if (!long.TryParse(line.AsSpan(start, p - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            // glibc saturates out-of-range numbers; a saturated count is refused later as too large.
            value = line[start] == '-' ? long.MinValue : long.MaxValue;
        }

        return true;
    }
}
