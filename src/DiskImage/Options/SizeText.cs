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
            return value;
        }

        throw new InvalidOptionException(
            $"Invalid {what} specified. You may use k, M, G, T, P or E suffixes for\nkilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
    }

    /// <summary>A size-typed <c>-o</c> option (<c>size</c>, <c>cluster_size</c>, ...), refused in the option parser's words.</summary>
    public static long ParseOption(string key, string text) => TryParse(text, out var value)
        ? value
        : throw new InvalidOptionException($"Parameter '{key}' expects a non-negative number below 2^64\n" +
            "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.");

    /// <summary>
    /// An image size as qemu-img create reads it: a well-formed number too large for a signed 64-bit size
    /// gets qemu-img's range message, anything else malformed the usual one.
    /// </summary>
    public static long ParseImageSize(string text)
    {
        if (!TryParse(text, out _) && IsWellFormed(text))
        {
            throw new InvalidOptionException($"Invalid image size specified. Must be between 0 and {long.MaxValue}.");
        }

        return Parse(text, "image size");
    }

    /// <summary>Digits (with at most one decimal point) and an optional known suffix, whatever the magnitude.</summary>
    private static bool IsWellFormed(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var number = text.Trim();
        if ("bBkKMGTPE".Contains(number[^1], StringComparison.Ordinal))
        {
            number = number[..^1];
        }

        return number.Length > 0 && number.Count(c => c == '.') <= 1 && number.Any(char.IsAsciiDigit) && number.All(c => char.IsAsciiDigit(c) || c == '.');
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
        var multiplier = 1L;
        var last = text[^1];
        if (char.IsLetter(last))
        {
            multiplier = char.ToUpperInvariant(last) switch
            {
                'B' => 1L,
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                'P' => 1L << 50,
                'E' => 1L << 60,
                _ => 0,
            };
            if (multiplier == 0)
            {
                return false;
            }

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

    /// <summary>Formats bytes as qemu-img's human output does: <c>1 GiB</c>, <c>192 KiB</c>, <c>1.5 MiB</c>.</summary>
    public static string ToHuman(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        // qemu-img prints up to three significant digits and drops trailing zeroes.
        var text = value.ToString(value >= 100 ? "0" : value >= 10 ? "0.#" : "0.##", CultureInfo.InvariantCulture);
        return $"{text} {units[unit]}";
    }
}
