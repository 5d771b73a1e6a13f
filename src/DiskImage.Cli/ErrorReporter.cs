namespace DiskImage.Cli;

/// <summary>Maps exceptions to qemu-img's one-line messages and exit codes; no stack trace reaches a user.</summary>
internal static class ErrorReporter
{
    public const int GeneralError = 1;

    public static bool IsReportable(Exception e) => e is DiskImageException or IOException or UnauthorizedAccessException
        or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException or OutOfMemoryException;

    public static int Report(TextWriter stderr, Exception e)
    {
        stderr.WriteLine($"diskimg: {OneLine(e.Message)}");
        return GeneralError;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
