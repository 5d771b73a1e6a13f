using System.Globalization;

namespace DiskImage.Operations.Io;

/// <summary>
/// Numbers as qemu-io reads offsets and lengths (QEMU's size parser followed by a check against INT64_MAX): decimal
/// or <c>0x</c> hex after optional white space and a plus sign, an optional fraction (kept only when a suffix scales
/// it to whole bytes, rounded half up), and an optional binary suffix (b, k, M, G, T, P, E; any case).
/// </summary>
public static class QemuIoNumber
{
    /// <summary>Parses or throws <see cref="QemuIoSyntaxException"/> with qemu-io's words.</summary>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (TryParse(text, out var value))
        {
            return value;
        }

        throw new QemuIoSyntaxException(ErrorFor(text), toStandardOutput: true);
    }

    /// <summary>Parses; false on syntax errors, negative numbers and values past <see cref="long.MaxValue"/>.</summary>
    public static bool TryParse(string text, out long value)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Read(text, out value, out _) == QemuIoNumberStatus.Valid;
    }

    /// <summary>qemu-io's complaint about a number that does not parse.</summary>
    internal static string ErrorFor(string text) => ErrorFor(Read(text, out _, out _), text);

    /// <summary>qemu-io's complaint for <paramref name="status"/> (a failed parse of <paramref name="text"/>).</summary>
    internal static string ErrorFor(QemuIoNumberStatus status, string text) => status == QemuIoNumberStatus.TooLarge
        ? $"Parsing error: argument too large -- {text}"
        : $"Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- {text}";

    /// <summary>The warning QEMU prints (on standard error) for a hex number with a suffix, whether or not it then parses.</summary>
    internal static string HexSuffixWarning(string text) => $"warning: Using a multiplier suffix on hex numbers is deprecated: {text}";

    /// <summary>
    /// Reads <paramref name="text"/> whole. <paramref name="hexWithSuffix"/> says a hex number carried a suffix,
    /// which QEMU warns about as it reads it.
    /// </summary>
    internal static QemuIoNumberStatus Read(string text, out long value, out bool hexWithSuffix)
    {
        value = 0;
        hexWithSuffix = false;
        var at = 0;
        while (at < text.Length && text[at] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            at++;
        }

        var signed = at < text.Length && text[at] is '+' or '-';
        var digitsStart = signed ? at + 1 : at;
        var end = digitsStart;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        if (end == digitsStart)
        {
            return QemuIoNumberStatus.Invalid;
        }

        if (!ulong.TryParse(text.AsSpan(digitsStart, end - digitsStart), NumberStyles.None, CultureInfo.InvariantCulture, out var whole))
        {
            // strtoull's ERANGE stands unless more than the digits follow.
            return end == text.Length ? QemuIoNumberStatus.TooLarge : QemuIoNumberStatus.Invalid;
        }

        if (text[at] == '-')
        {
            return QemuIoNumberStatus.Invalid;
        }

        var hex = false;
        ulong fraction = 0;
        if (whole == 0 && end < text.Length && text[end] is 'x' or 'X')
        {
            // Read again as hex: only a lone 0 before the x is a prefix, and then only before a hex digit; otherwise
            // the parse stops at the x.
            var hexStart = end + 1;
            var hexEnd = hexStart;
            while (end - digitsStart == 1 && hexEnd < text.Length && char.IsAsciiHexDigit(text[hexEnd]))
            {
                hexEnd++;
            }

            if (hexEnd > hexStart)
            {
                if (!ulong.TryParse(text.AsSpan(hexStart, hexEnd - hexStart), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out whole))
                {
                    return hexEnd == text.Length ? QemuIoNumberStatus.TooLarge : QemuIoNumberStatus.Invalid;
                }

                end = hexEnd;
            }

            if (end < text.Length && text[end] == '.')
            {
                return QemuIoNumberStatus.Invalid;
            }

            hex = true;
        }
        else if (end < text.Length && text[end] == '.')
        {
            var fractionEnd = end + 1;
            while (fractionEnd < text.Length && char.IsAsciiDigit(text[fractionEnd]))
            {
                fractionEnd++;
            }

            if (fractionEnd == end + 1)
            {
                // No digits after the point: the point alone is passed over ("1.k", "1.").
                end++;
            }
            else if (HasExponent(text, fractionEnd))
            {
                return QemuIoNumberStatus.Invalid;
            }
            else
            {
                var part = double.Parse(text.AsSpan(end, fractionEnd - end), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
                // A 64-bit fixed-point fraction; one that rounds up to 1.0 wraps to 0, as the C conversion does on x86-64.
                fraction = part >= 1.0 ? 0 : (ulong)(part * 18446744073709551616.0);
                end = fractionEnd;
            }
        }

        ulong multiplier = 1;
        if (end < text.Length && Multiplier(text[end]) is { } suffix)
        {
            hexWithSuffix = hex;
            multiplier = suffix;
            end++;
        }

        if (end != text.Length)
        {
            return QemuIoNumberStatus.Invalid;
        }

        if (multiplier == 1)
        {
            if (fraction != 0)
            {
                return QemuIoNumberStatus.Invalid;
            }
        }
        else
        {
            // whole × multiplier plus the fraction's share, rounded half up, must fit 64 bits.
            var scaledFraction = (UInt128)fraction * multiplier;
            var total = (UInt128)whole * multiplier + (scaledFraction >> 64) + ((ulong)scaledFraction >> 63);
            if (total > ulong.MaxValue)
            {
                return QemuIoNumberStatus.TooLarge;
            }

            whole = (ulong)total;
        }

        if (whole > long.MaxValue)
        {
            return QemuIoNumberStatus.TooLarge;
        }

        value = (long)whole;
        return QemuIoNumberStatus.Valid;
    }

    /// <summary>An exponent strtod would take after a fraction: e or E, an optional sign, a digit.</summary>
    private static bool HasExponent(string text, int at)
    {
        if (at >= text.Length || text[at] is not ('e' or 'E'))
        {
            return false;
        }

        at++;
        if (at < text.Length && text[at] is '+' or '-')
        {
            at++;
        }

        return at < text.Length && char.IsAsciiDigit(text[at]);
    }

    private static ulong? Multiplier(char suffix) => (ulong?)Options.SizeText.SuffixMultiplier(suffix);
}

/// <summary>How a qemu-io number read.</summary>
internal enum QemuIoNumberStatus
{
    /// <summary>A number from 0 to INT64_MAX.</summary>
    Valid,

    /// <summary>Not a number, or one with something after it (qemu's EINVAL).</summary>
    Invalid,

    /// <summary>A number past INT64_MAX (qemu's ERANGE).</summary>
    TooLarge,
}
