namespace DiskImage.Options;

/// <summary>
/// QEMU's number options (<c>-o refcount_bits=</c>, blkdebug's <c>sector</c>...): decimal, <c>0x</c> hex or
/// leading-zero octal after optional white space and sign, a leading minus wrapping as <c>strtoull</c> does.
/// </summary>
public static class QemuNumber
{
    /// <summary>The number <paramref name="text"/> holds, or qemu's error naming <paramref name="key"/>.</summary>
    /// <exception cref="InvalidOptionException">Not a number, or beyond 64 bits.</exception>
    public static ulong Parse(string key, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ParseCore(key, text);
    }

    private static ulong ParseCore(string key, string text)
    {
        var s = text.TrimStart();
        var negative = s.StartsWith('-');
        if (negative || s.StartsWith('+'))
        {
            s = s[1..];
        }

        var (digits, radix) = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && s.Length > 2 ? (s[2..], 16)
            : s.Length > 1 && s[0] == '0' ? (s[1..], 8)
            : (s, 10);
        if (digits.Length == 0)
        {
            throw new InvalidOptionException($"Parameter '{key}' expects a number");
        }

        ulong number = 0;
        foreach (var c in digits)
        {
            var digit = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : c is >= 'A' and <= 'F' ? c - 'A' + 10 : 99;
            if (digit >= radix)
            {
                throw new InvalidOptionException($"Parameter '{key}' expects a number");
            }

            if (number > (ulong.MaxValue - (ulong)digit) / (ulong)radix)
            {
                throw new InvalidOptionException($"Value '{text}' is too large for parameter '{key}'");
            }

            number = (number * (ulong)radix) + (ulong)digit;
        }

        return negative ? unchecked(0UL - number) : number;
    }
}
