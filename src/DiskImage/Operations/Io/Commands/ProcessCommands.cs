using System.Globalization;

namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// Commands about the program rather than the image: <c>quit</c>, <c>abort</c> (the caller ends the process
/// by SIGABRT, losing buffered output and leaving the image as a crash would), <c>sigraise</c> (the caller flushes
/// standard output and raises the signal, so <c>sigraise 9</c> is a crash too) and <c>sleep</c>.
/// </summary>
internal static class ProcessCommands
{
    public static readonly QemuIoCommandInfo Quit = new("quit", "q", null, "exit the program", -1, -1, RunQuit, QemuIoCommandScope.Global);

    public static readonly QemuIoCommandInfo Abort = new("abort", null, null, "simulate a program crash using abort(3)", 0, 0, RunAbort, QemuIoCommandScope.NoFileOk);

    public static readonly QemuIoCommandInfo Sigraise = new("sigraise", null, "signal", "raises a signal", 1, 1, RunSigraise, QemuIoCommandScope.NoFileOk,
        Help: "Flushes standard output and raises the signal with that number in this process.");

    public static readonly QemuIoCommandInfo Sleep = new("sleep", null, null, "waits for the given value in milliseconds", 1, 1, RunSleep, QemuIoCommandScope.NoFileOk);

    private static int RunQuit(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        output.Quit = true;
        return 0;
    }

    private static int RunAbort(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        output.Abort = true;
        return 0;
    }

    private static int RunSigraise(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        if (QemuIoArguments.Number(words[1], output) is not { } signal)
        {
            return QemuIoErrno.EINVAL;
        }

        // Linux's NSIG.
        if (signal > 65)
        {
            output.Out($"signal argument '{words[1]}' is too large to be a valid signal");
            return QemuIoErrno.EINVAL;
        }

        output.FlushOutput = true;
        output.Signal = (int)signal;
        return 0;
    }

    private static int RunSleep(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        if (!TryParseLong(words[1], out var milliseconds) || milliseconds < 0)
        {
            output.Out($"{words[1]} is not a valid number");
            return QemuIoErrno.EINVAL;
        }

        // Waits holding the image open (and locked), as scripts expect; the event loop runs meanwhile, long enough (from a
        // tenth of a second) for outstanding writes to flush.
        if (milliseconds >= 100)
        {
            output.Drain();
        }
        else
        {
            output.Poll();
        }

        for (var left = milliseconds; left > 0;)
        {
            var slice = (int)Math.Min(left, int.MaxValue);
            Thread.Sleep(slice);
            left -= slice;
        }

        return 0;
    }

    /// <summary>strtol with base 0: decimal, <c>0x</c> hex, or octal with a leading zero; the whole word must be a number.</summary>
    internal static bool TryParseLong(string text, out long value)
    {
        value = 0;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value >= 0;
        }

        if (text.Length > 1 && text[0] == '0')
        {
            if (text.Length > 22 || !text.All(c => c is >= '0' and <= '7'))
            {
                return false;
            }

            value = Convert.ToInt64(text, 8);
            return true;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }
}
