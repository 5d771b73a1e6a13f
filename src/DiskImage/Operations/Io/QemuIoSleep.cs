using System.Globalization;

namespace DiskImage.Operations.Io;

/// <summary>
/// <c>sleep MS</c>: waits, holding the image open (and locked) meanwhile, as qemu-io's command does.
/// Scripts use it to keep an image in use while something else tries it.
/// </summary>
public sealed record QemuIoSleep(long Milliseconds) : QemuIoCommand
{
    /// <summary>Parses the operand as qemu-io does (decimal, octal with a leading 0, hex with 0x); a negative or bad number is refused.</summary>
    internal static QemuIoSleep Parse(string[] args)
    {
        if (args.Length != 1)
        {
            throw new QemuIoSyntaxException($"bad argument count {args.Length} to sleep, expected 1 arguments");
        }

        var text = args[0];
        long ms;
        bool ok;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            ok = long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ms);
        }
        else if (text.Length > 1 && text[0] == '0')
        {
            // strtol with base 0: a leading zero means octal.
            ok = text.All(c => c is >= '0' and <= '7') && text.Length <= 22;
            ms = ok ? Convert.ToInt64(text, 8) : 0;
        }
        else
        {
            ok = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ms);
        }

        if (!ok || ms < 0)
        {
            throw new QemuIoSyntaxException($"{text} is not a valid number", toStandardOutput: true);
        }

        return new QemuIoSleep(ms);
    }

    /// <summary>Sleeps for the time asked, in slices a timer can take.</summary>
    internal IoCommandOutcome Run()
    {
        var left = Milliseconds;
        while (left > 0)
        {
            var slice = (int)Math.Min(left, int.MaxValue);
            Thread.Sleep(slice);
            left -= slice;
        }

        return new IoCommandOutcome([], null, false);
    }
}
