using System.Globalization;

namespace DiskImage.Operations.Io;

/// <summary>
/// Parses qemu-io command lines (<c>read -P 0xab 0 4k</c>) into <see cref="QemuIoCommand"/>s, refusing bad
/// input with qemu-io's messages. Options may come before or after the operands, as getopt permits.
/// </summary>
public static class QemuIoCommandParser
{
    /// <summary>The largest single request qemu's block layer takes (INT_MAX rounded down to a sector).</summary>
    public const long MaxRequestBytes = int.MaxValue & ~511L;

    /// <summary>Parses one command line; throws <see cref="QemuIoSyntaxException"/>.</summary>
    public static QemuIoCommand Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            throw new QemuIoSyntaxException("command \"\" not found");
        }

        var name = words[0];
        var args = words[1..];
        return name switch
        {
            "read" or "r" => ParseRead(args),
            "write" or "w" => ParseWrite(args),
            "discard" or "d" => ParseDiscard(args),
            "flush" or "f" or "aio_flush" => NoArguments(name, args, new QemuIoFlush()),
            "info" => NoArguments(name, args, new QemuIoInfo()),
            "length" or "l" => NoArguments(name, args, new QemuIoLength()),
            "sleep" => QemuIoSleep.Parse(args),
            _ => throw new QemuIoSyntaxException($"command \"{name}\" not found"),
        };
    }

    private static QemuIoCommand NoArguments(string name, string[] args, QemuIoCommand command) =>
        args.Length == 0 ? command : throw new QemuIoSyntaxException($"bad argument count {args.Length} to {name}, expected 0 arguments");

    private static QemuIoRead ParseRead(string[] args)
    {
        var (flags, values, operands) = Split("read", args, "qv", "Psl");
        var (offset, length) = OffsetAndLength("read", operands);
        byte? pattern = values.TryGetValue('P', out var patternText) ? ParsePattern(patternText) : null;
        var patternOffset = values.TryGetValue('s', out var s) ? QemuIoNumber.Parse(s) : 0;
        var patternLength = values.TryGetValue('l', out var l) ? QemuIoNumber.Parse(l) : length - patternOffset;
        if (pattern is not null && (patternOffset + patternLength > length || patternLength < 0))
        {
            throw new QemuIoSyntaxException("pattern verification range exceeds end of read data", toStandardOutput: true);
        }

        return new QemuIoRead(offset, length, pattern, patternOffset, patternLength, flags.Contains('v'), flags.Contains('q'));
    }

    private static QemuIoWrite ParseWrite(string[] args)
    {
        var (flags, values, operands) = Split("write", args, "qzuf", "P");
        var zero = flags.Contains('z');
        if (zero && values.ContainsKey('P'))
        {
            throw new QemuIoSyntaxException("Only one of -z, -P, and -s can be specified at the same time", toStandardOutput: true);
        }

        if (flags.Contains('u') && !zero)
        {
            throw new QemuIoSyntaxException("-u requires -z to be specified", toStandardOutput: true);
        }

        var (offset, length) = OffsetAndLength("write", operands);
        var pattern = values.TryGetValue('P', out var patternText) ? ParsePattern(patternText) : (byte)0xcd;
        return new QemuIoWrite(offset, length, pattern, zero, flags.Contains('u'), flags.Contains('q'));
    }

    private static QemuIoDiscard ParseDiscard(string[] args)
    {
        var (flags, _, operands) = Split("discard", args, "q", "");
        var (offset, length) = OffsetAndLength("discard", operands);
        return new QemuIoDiscard(offset, length, flags.Contains('q'));
    }

    /// <summary>Separates getopt-style flags, options with values, and operands.</summary>
    private static (HashSet<char> Flags, Dictionary<char, string> Values, List<string> Operands) Split(
        string command, string[] args, string flagLetters, string valueLetters)
    {
        if (args.Length < 2)
        {
            throw new QemuIoSyntaxException($"bad argument count {args.Length} to {command}, expected at least 2 arguments");
        }

        var flags = new HashSet<char>();
        var values = new Dictionary<char, string>();
        var operands = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.Length < 2 || arg[0] != '-')
            {
                operands.Add(arg);
                continue;
            }

            for (var j = 1; j < arg.Length; j++)
            {
                var letter = arg[j];
                if (flagLetters.Contains(letter, StringComparison.Ordinal))
                {
                    flags.Add(letter);
                    continue;
                }

                if (!valueLetters.Contains(letter, StringComparison.Ordinal))
                {
                    throw new QemuIoSyntaxException($"{command}: invalid option -- '{letter}'");
                }

                // The value is the rest of this word, or the next word.
                var value = j + 1 < arg.Length ? arg[(j + 1)..] : i + 1 < args.Length ? args[++i] : null;
                values[letter] = value ?? throw new QemuIoSyntaxException($"{command}: option requires an argument -- '{letter}'");
                break;
            }
        }

        return (flags, values, operands);
    }

    private static (long Offset, long Length) OffsetAndLength(string command, List<string> operands)
    {
        if (operands.Count != 2)
        {
            throw new QemuIoSyntaxException($"{command}: expected an offset and a length, got {operands.Count} operands");
        }

        var offset = QemuIoNumber.Parse(operands[0]);
        var length = QemuIoNumber.Parse(operands[1]);
        if (length > MaxRequestBytes)
        {
            throw new QemuIoSyntaxException($"length cannot exceed {MaxRequestBytes}, given {operands[1]}", toStandardOutput: true);
        }

        return (offset, length);
    }

    /// <summary>A pattern byte: decimal, <c>0x</c> hex or leading-zero octal, 0 to 255.</summary>
    internal static byte ParsePattern(string text)
    {
        var ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            : text.Length > 1 && text[0] == '0'
                ? TryParseOctal(text[1..], out value)
                : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok || value is < 0 or > 255)
        {
            throw new QemuIoSyntaxException($"{text} is not a valid pattern byte", toStandardOutput: true);
        }

        return (byte)value;
    }

    private static bool TryParseOctal(string text, out long value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (c is < '0' or > '7' || value > 255)
            {
                return false;
            }

            value = (value * 8) + (c - '0');
        }

        return true;
    }
}
