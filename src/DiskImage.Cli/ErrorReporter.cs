namespace DiskImage.Cli;

/// <summary>Maps exceptions to qemu-img's one-line messages and exit codes; no stack trace reaches a user.</summary>
internal static class ErrorReporter
{
    public const int GeneralError = 1;

    public static bool IsReportable(Exception e) => e is DiskImageException or IOException or UnauthorizedAccessException
        or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException or OutOfMemoryException
        or OperationCanceledException or AggregateException;

    public static int Report(TextWriter stderr, Exception e)
    {
        var error = Unwrap(e);
        stderr.WriteLine($"{ProgramName.Value}: {OneLine(error.Message)}");
        if (error is ImageLockedException locked)
        {
            // qemu-img's hint line, unprefixed, after a lock conflict.
            stderr.WriteLine(locked.Hint);
        }

        return GeneralError;
    }

    /// <summary>A command line System.CommandLine could not parse: its first complaint, on one line.</summary>
    public static int ReportParseError(TextWriter stderr, string message)
    {
        stderr.WriteLine($"{ProgramName.Value}: {OneLine(message)}");
        return GeneralError;
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerExceptions.Count: 1 } aggregate ? Unwrap(aggregate.InnerExceptions[0]) : e;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
