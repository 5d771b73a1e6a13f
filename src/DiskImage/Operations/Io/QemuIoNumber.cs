using System.Globalization;

namespace DiskImage.Operations.Io;

/// <summary>
/// Numbers as qemu-io reads offsets and lengths: decimal or <c>0x</c> hex, with an optional binary
/// suffix (b, k, M, G, T, P, E; any case). A fraction is allowed only with a suffix (<c>1.5k</c>).
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

    /// <summary>qemu-io's complaint about a number that does not parse: too large when well-formed, else not numeric.</summary>
    internal static string ErrorFor(string text) => IsWellFormed(text)
        ? $"Parsing error: argument too large -- {text}"
        : $"Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- {text}";

    /// <summary>Digits (or 0x and hex digits) with an optional suffix, a fraction only with a suffix and not in hex.</summary>
    private static bool IsWellFormed(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }

        var hasSuffix = "bkmgtpeBKMGTPE".Contains(text[^1], StringComparison.Ordinal) && !(IsHex(text) && text[^1] is 'b' or 'B' or 'e' or 'E');
        var number = hasSuffix ? text[..^1] : text;
        if (IsHex(number))
        {
            return number.Skip(2).All(char.IsAsciiHexDigit);
        }

        var dot = number.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0 && !hasSuffix)
        {
            return false;
        }

        var whole = dot >= 0 ? number[..dot] : number;
        var fraction = dot >= 0 ? number[(dot + 1)..] : "";
        return whole.Length > 0 && whole.All(char.IsAsciiDigit) && fraction.All(char.IsAsciiDigit) && (dot < 0 || fraction.Length > 0);
    }

    /// <summary>Parses; false on syntax errors, negative numbers and values past <see cref="long.MaxValue"/>.</summary>
    public static bool TryParse(string text, out long value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var multiplier = 1L;
        var number = text;
        var shift = char.ToUpperInvariant(text[^1]) switch
        {
            'B' when !IsHex(text) => 0,
            'K' => 10,
            'M' => 20,
            'G' => 30,
            'T' => 40,
            'P' => 50,
            'E' when !IsHex(text) => 60,
            _ => -1,
        };
        if (shift >= 0)
        {
            multiplier = 1L << shift;
            number = text[..^1];
        }

        if (number.Length == 0)
        {
            return false;
        }

        if (IsHex(number))
        {
            if (!ulong.TryParse(number.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
            {
                return false;
            }

            return TryScale(hex, multiplier, out value);
        }

        if (!char.IsAsciiDigit(number[0]))
        {
            return false;
        }

        if (ulong.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var whole))
        {
            return TryScale(whole, multiplier, out value);
        }

        if (multiplier > 1 && decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var fraction))
        {
            var scaled = fraction * multiplier;
            if (scaled > long.MaxValue)
            {
                return false;
            }

            value = (long)scaled;
            return true;
        }

        return false;
    }

    private static bool IsHex(string text) => text.Length > 2 && text[0] == '0' && text[1] is 'x' or 'X';

    private static bool TryScale(ulong number, long multiplier, out long value)
    {
        value = 0;
        if (number > (ulong)(long.MaxValue / multiplier))
        {
            return false;
        }

        value = (long)number * multiplier;
        return true;
    }
}
