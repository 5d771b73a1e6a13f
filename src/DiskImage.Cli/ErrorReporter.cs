namespace DiskImage.Cli;

/// <summary>Maps exceptions to qemu-img's one-line messages and exit codes; no stack trace reaches a user.</summary>
internal static class ErrorReporter
{
    public const int GeneralError = 1;

    public static bool IsReportable(Exception e) => e is DiskImageException or UsageException or IOException or UnauthorizedAccessException
        or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException or OutOfMemoryException
        or OperationCanceledException or AggregateException or VerificationMismatchException;

    public static int Report(TextWriter stderr, Exception e, ImageOptsNames names)
    {
        var error = Unwrap(e);
        if (error is VerificationMismatchException)
        {
            // QEMU's blkverify driver prints its line bare and ends the process with status 1.
            stderr.WriteLine(error.Message);
            return GeneralError;
        }

        if (error is DiskImageException { EarlierErrors: { Count: > 0 } earlier })
        {
            foreach (var line in earlier)
            {
                stderr.WriteLine($"{ProgramName.Value}: {line}");
            }
        }

        WriteMessage(stderr, names.AsTyped(error is IOException ? WithoutDotNetPath(error.Message) : error.Message));
        if (error is UsageException)
        {
            // qemu-img's second line after a command line it refuses.
            stderr.WriteLine($"Try '{ProgramName.Value} --help' for more information");
        }

        if (error is ImageLockedException locked)
        {
            // qemu-img's hint line, unprefixed, after a lock conflict.
            stderr.WriteLine(locked.Hint);
        }
        else if (error is InconsistentBitmapException)
        {
            stderr.WriteLine(InconsistentBitmapException.Hint);
        }

        return GeneralError;
    }

    /// <summary>A command line System.CommandLine could not parse: its first complaint, on one line.</summary>
    public static int ReportParseError(TextWriter stderr, string message)
    {
        stderr.WriteLine($"{ProgramName.Value}: {OneLine(message)}");
        return GeneralError;
    }

    /// <summary>
    /// The first line prefixed with the program name; further lines are hints, unprefixed, as qemu-img prints them,
    /// except warnings and the second half of a size complaint, which qemu-img reports as lines of their own.
    /// </summary>
    private static void WriteMessage(TextWriter stderr, string message)
    {
        // Only line breaks are trimmed: a trailing space is part of some of QEMU's messages.
        var lines = message.Trim('\n', '\r').Split('\n');
        stderr.WriteLine($"{ProgramName.Value}: {lines[0].TrimEnd('\r')}");
        if (message.Length > 1 && message[^1] == '\n' && message[^2] != '\n' && message.Trim('\n', '\r').Length == message.Length - 1)
        {
            // A message that ends with its own line break (libiscsi's) leaves an empty line after it in qemu-img's output.
            lines = [.. lines, ""];
        }

        foreach (var line in lines.Skip(1))
        {
            var text = line.TrimEnd('\r');
            if (text.StartsWith("Detected format of ", StringComparison.Ordinal))
            {
                // qemu-img ends this hint without a newline.
                stderr.Write(text);
                continue;
            }

            stderr.WriteLine(text.StartsWith("kilobytes, megabytes", StringComparison.Ordinal) || text.StartsWith("warning: ", StringComparison.Ordinal)
                || text.StartsWith("Failed to flush the ", StringComparison.Ordinal)
                || text.StartsWith("Invalid options for file format ", StringComparison.Ordinal) ? $"{ProgramName.Value}: {text}" : text);
        }
    }

    /// <summary>
    /// .NET appends <c>" : 'path'"</c> to the C library's text ("No space left on device : '/x'"); qemu-img prints
    /// the text alone.
    /// </summary>
    private static string WithoutDotNetPath(string message)
    {
        var at = message.IndexOf(" : '", StringComparison.Ordinal);
        return at > 0 && message.EndsWith('\'') ? message[..at] : message;
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerExceptions.Count: 1 } aggregate ? Unwrap(aggregate.InnerExceptions[0]) : e;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
