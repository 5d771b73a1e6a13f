using System.Globalization;

namespace DiskImage.Options;

/// <summary>Sizes written the way qemu-img reads them: <c>512</c>, <c>64k</c>, <c>10G</c>, <c>1.5T</c>.</summary>
public static class SizeText
{
    /// <summary>
    /// Parses a size with an optional binary suffix (b, k/K, M, G, T, P, E; 1024-based, as qemu-img).
    /// A bare number is bytes. Throws <see cref="InvalidOptionException"/> on anything else.
    /// </summary>
    public static long Parse(string text, string what = "size")
    {
        if (TryParse(text, out var value))
        {
            WarnHexSuffix(text);
            return value;
        }

        if (IsWellFormed(text))
        {
            // A number qemu reads but cannot hold in a signed 64-bit size: its range message (qemu-img's cvtnum).
            throw new InvalidOptionException($"Invalid {what} specified. Must be between 0 and {long.MaxValue}.");
        }

        throw new InvalidOptionException(
            $"Invalid {what} specified. You may use k, M, G, T, P or E suffixes for\nkilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
    }

    /// <summary>
    /// A size that must lie in [<paramref name="min"/>, <paramref name="max"/>], refused as qemu-img's cvtnum_full refuses
    /// it: malformed text with the suffix hint, a well-formed number outside the range with the range.
    /// </summary>
    public static long ParseInRange(string text, string what, long min, long max)
    {
        if (!TryParse(text, out _) && !IsWellFormed(text))
        {
            return Parse(text, what); // throws the suffix hint
        }

        // A well-formed number too large for any size is outside the range too.
        var value = TryParse(text, out var parsed) ? Parse(text, what) : long.MinValue;
        _ = parsed;
        return value >= min && value <= max ? value
            : throw new InvalidOptionException($"Invalid {what} specified. Must be between {min} and {max}.");
    }

    /// <summary>A size-typed <c>-o</c> option (<c>size</c>, <c>cluster_size</c>, ...), refused in the option parser's words.</summary>
    public static long ParseOption(string key, string text) => TryParse(text, out var value)
        ? WarnHexSuffix(text, WarnHexSuffix(text, value)) // qemu-img reads an -o value twice (option list, then driver): two warnings
        : throw new InvalidOptionException($"Parameter '{key}' expects a non-negative number below 2^64\n" +
            "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.");

    /// <summary>
    /// An image size as qemu-img create reads it: a well-formed number too large for a signed 64-bit size
    /// gets qemu-img's range message, anything else malformed the usual one.
    /// </summary>
    public static long ParseImageSize(string text) => ParseBounded(text, "image size");

    /// <summary>
    /// A number as qemu-img's option reader takes it (create's size, measure's <c>--size</c>, map's offsets): a
    /// well-formed number beyond a signed 64-bit value gets the range message naming <paramref name="what"/>,
    /// anything else malformed the suffix message.
    /// </summary>
    public static long ParseBounded(string text, string what)
    {
        if (!TryParse(text, out _) && IsWellFormed(text))
        {
            throw new InvalidOptionException($"Invalid {what} specified. Must be between 0 and {long.MaxValue}.");
        }

        return Parse(text, what);
    }

    /// <summary>Digits (with at most one decimal point) and an optional known suffix, whatever the magnitude.</summary>
    public static bool IsWellFormed(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var number = text.Trim();
        var scaled = "kKMGTPE".Contains(number[^1], StringComparison.Ordinal);
        if (scaled || number[^1] is 'b' or 'B')
        {
            number = number[..^1];
        }

        // A fraction of a byte (1.5, 1.5b) is malformed, not large.
        var point = number.IndexOf('.', StringComparison.Ordinal);
        if (!scaled && point >= 0 && number[(point + 1)..].Any(c => c != '0'))
        {
            return false;
        }

        return number.Length > 0 && number.Count(c => c == '.') <= 1 && number.Any(char.IsAsciiDigit) && number.All(c => char.IsAsciiDigit(c) || c == '.');
    }

    /// <summary>
    /// A decimal size (digits, an optional fraction with a suffix, an optional suffix) that may reach up to 2^64 - 1,
    /// as QEMU's size options hold; false on anything else.
    /// </summary>
    public static bool TryParseUnsigned(string? text, out ulong value)
    {
        value = 0;
        if (!IsWellFormed(text))
        {
            return false;
        }

        var number = text!.Trim();
        var exponent = "kKMGTPE".IndexOf(number[^1], StringComparison.Ordinal) switch
        {
            -1 => 0,
            0 or 1 => 1,
            var i => i,
        };
        if (!char.IsAsciiDigit(number[^1]))
        {
            number = number[..^1];
        }

        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) || amount > ulong.MaxValue)
        {
            return false;
        }

        var factor = 1m;
        for (var i = 0; i < exponent; i++)
        {
            factor *= 1024;
        }

        var scaled = decimal.Floor(amount * factor);
        if (scaled > ulong.MaxValue)
        {
            return false;
        }

        value = (ulong)scaled;
        return true;
    }

    /// <summary>Parses a size; false on syntax errors, negative values or overflow.</summary>
    public static bool TryParse(string? text, out long value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (TryParseHex(text, out value, out var hexParsed))
        {
            return hexParsed;
        }

        var multiplier = 1L;
        var last = text[^1];
        if (char.IsLetter(last))
        {
            if (SuffixMultiplier(last) is not { } suffix)
            {
                return false;
            }

            multiplier = suffix;

            text = text[..^1];
        }

        if (text.Length == 0 || text[0] is '-' or '+')
        {
            return false;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var whole))
        {
            if (whole > long.MaxValue / multiplier)
            {
                return false;
            }

            value = whole * multiplier;
            return true;
        }

        // A fraction needs a suffix, unless it is zero ("1024.0" and "1024.0b" are 1024 bytes, as qemu reads them).
        if (decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var fraction)
            && (multiplier > 1 || fraction == decimal.Truncate(fraction)))
        {
            var bytes = fraction * multiplier;
            if (bytes > long.MaxValue)
            {
                return false;
            }

            value = (long)bytes;
            return true;
        }

        return false;
    }

    /// <summary>
    /// qemu's hexadecimal sizes: zeros, <c>x</c>, hex digits (which take <c>b</c> and <c>e</c>), then at most one
    /// of the other suffixes, which qemu accepts with a deprecation warning; no fraction. False when the text is not
    /// hexadecimal at all; <paramref name="parsed"/> tells whether a hexadecimal text was valid.
    /// </summary>
    private static bool TryParseHex(string text, out long value, out bool parsed)
    {
        value = 0;
        parsed = false;
        var x = 0;
        while (x < text.Length && text[x] == '0')
        {
            x++;
        }

        if (x == 0 || x >= text.Length || text[x] is not ('x' or 'X'))
        {
            return false;
        }

        var digits = text.AsSpan(x + 1);
        var end = 0;
        while (end < digits.Length && char.IsAsciiHexDigit(digits[end]))
        {
            end++;
        }

        var rest = digits[end..];
        var multiplier = rest.Length == 0 ? 1L : rest.Length == 1 ? char.ToUpperInvariant(rest[0]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            'P' => 1L << 50,
            _ => 0,
        } : 0;
        if (end == 0 || multiplier == 0
            || !ulong.TryParse(digits[..end], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var number)
            || number > (ulong)(long.MaxValue / multiplier))
        {
            return true;
        }

        value = (long)number * multiplier;
        parsed = true;
        return true;
    }

    /// <summary>qemu's warning for a valid hexadecimal size with a suffix, raised once per parse that uses the value.</summary>
    private static long WarnHexSuffix(string text, long value = 0)
    {
        var trimmed = text.Trim();
        if (trimmed.Length > 0 && char.IsAsciiLetter(trimmed[^1]) && !char.IsAsciiHexDigit(trimmed[^1])
            && TryParseHex(trimmed, out _, out var parsed) && parsed)
        {
            ImageWarnings.Report($"warning: Using a multiplier suffix on hex numbers is deprecated: {text}");
        }

        return value;
    }

    /// <summary>
    /// Formats bytes as qemu-img's human output does: <c>1 GiB</c>, <c>192 KiB</c>, <c>0.977 TiB</c>. The unit changes
    /// once the number would reach 1000 of the smaller unit, and the number has three significant digits, rounded
    /// half to even on its exact value and written as C's <c>%g</c> writes it (so 999.9 KiB reads <c>1e+03 KiB</c>).
    /// </summary>
    public static string ToHuman(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        var value = (ulong)bytes;
        var unit = 0;
        if (value > 0)
        {
            // floor(log2(value * 1024 / 1000)), computed in double as qemu does, picks the unit.
            unit = Math.ILogB(value / (1000.0 / 1024.0)) / 10;
        }

        return $"{FormatThreeSignificant(value, 10 * unit)} {units[unit]}";
    }

    /// <summary>value / 2^shift with three significant digits, as <c>%0.3g</c> prints it (exact, half to even).</summary>
    private static string FormatThreeSignificant(ulong value, int shift)
    {
        if (value == 0)
        {
            return "0";
        }

        var numerator = new System.Numerics.BigInteger(value);
        var denominator = System.Numerics.BigInteger.One << shift;

        // Decimal exponent: the largest p with 10^p <= value / 2^shift.
        var exponent = 0;
        while (AtLeastPow10(numerator, denominator, exponent + 1))
        {
            exponent++;
        }

        while (!AtLeastPow10(numerator, denominator, exponent))
        {
            exponent--;
        }

        // Three significant digits: value * 10^(2 - exponent), rounded half to even.
        var top = numerator * (exponent <= 2 ? Pow10(2 - exponent) : 1);
        var bottom = denominator * (exponent > 2 ? Pow10(exponent - 2) : 1);
        var digits = System.Numerics.BigInteger.DivRem(top, bottom, out var remainder);
        var twice = remainder * 2;
        if (twice > bottom || (twice == bottom && !digits.IsEven))
        {
            digits++;
        }

        if (digits == 1000)
        {
            digits = 100;
            exponent++;
        }

        var text = ((int)digits).ToString(CultureInfo.InvariantCulture);
        if (exponent < -4 || exponent >= 3)
        {
            var mantissa = (text[0] + "." + text[1..]).TrimEnd('0').TrimEnd('.');
            return $"{mantissa}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
        }

        // Fixed notation with 2 - exponent decimals, trailing zeroes dropped.
        var decimals = 2 - exponent;
        if (decimals <= 0)
        {
            return text + new string('0', -decimals);
        }

        var padded = text.PadLeft(decimals + 1, '0');
        var fixedText = padded[..^decimals] + "." + padded[^decimals..];
        return fixedText.TrimEnd('0').TrimEnd('.');
    }

    /// <summary>Whether numerator / denominator &gt;= 10^power.</summary>
    private static bool AtLeastPow10(System.Numerics.BigInteger numerator, System.Numerics.BigInteger denominator, int power) =>
        power >= 0 ? numerator >= Pow10(power) * denominator : numerator * Pow10(-power) >= denominator;

    private static System.Numerics.BigInteger Pow10(int power) =>
        power <= 0 ? System.Numerics.BigInteger.One : System.Numerics.BigInteger.Pow(10, power);

    /// <summary>QEMU's size suffixes (either case): B, K, M, G, T, P, E as powers of 1024; null for any other letter.</summary>
    internal static long? SuffixMultiplier(char suffix) => char.ToUpperInvariant(suffix) switch
    {
        'B' => 1L,
        'K' => 1L << 10,
        'M' => 1L << 20,
        'G' => 1L << 30,
        'T' => 1L << 40,
        'P' => 1L << 50,
        'E' => 1L << 60,
        _ => null,
    };
}
