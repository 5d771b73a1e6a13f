namespace DiskImage.IO;

/// <summary>
/// The C library's wording for the errors a host file operation can end with, as QEMU prints them (strerror).
/// .NET reports some errno values as other exception types (EISDIR, EACCES and EPERM all as
/// <see cref="UnauthorizedAccessException"/>) and appends <c>" : 'path'"</c> to the rest; this undoes both.
/// </summary>
internal static class ErrnoText
{
    private static readonly Dictionary<int, string> Messages = new()
    {
        [1] = "Operation not permitted",
        [2] = "No such file or directory",
        [3] = "No such process",
        [4] = "Interrupted system call",
        [5] = "Input/output error",
        [6] = "No such device or address",
        [7] = "Argument list too long",
        [9] = "Bad file descriptor",
        [11] = "Resource temporarily unavailable",
        [12] = "Cannot allocate memory",
        [13] = "Permission denied",
        [14] = "Bad address",
        [17] = "File exists",
        [20] = "Not a directory",
        [21] = "Is a directory",
        [22] = "Invalid argument",
        [24] = "Too many open files",
        [26] = "Text file busy",
        [27] = "File too large",
        [28] = "No space left on device",
        [29] = "Illegal seek",
        [30] = "Read-only file system",
        [32] = "Broken pipe",
        [34] = "Numerical result out of range",
        [36] = "File name too long",
        [61] = "No data available",
        [84] = "Invalid or incomplete multibyte or wide character",
        [95] = "Operation not supported",
        [110] = "Connection timed out",
        [122] = "Disk quota exceeded",
    };

    /// <summary>strerror's text for errno <paramref name="errno"/> (glibc's "Unknown error N" for one not listed).</summary>
    public static string Strerror(int errno) => Messages.TryGetValue(errno, out var text) ? text : $"Unknown error {errno}";

    /// <summary>strerror's text for <paramref name="e"/>; <paramref name="path"/> (when known) tells EISDIR apart.</summary>
    public static string Describe(Exception e, string? path = null)
    {
        if (path is not null && Directory.Exists(path))
        {
            return Messages[21];
        }

        if (e is DirectoryNotFoundException && path is not null && HasFileAncestor(path))
        {
            return Messages[20];
        }

        return e switch
        {
            FileNotFoundException or DirectoryNotFoundException => Messages[2],
            UnauthorizedAccessException => Messages[13],
            PathTooLongException => Messages[36],
            IOException when Messages.TryGetValue(e.HResult, out var text) => text,
            IOException when e.Message.Contains("already exists", StringComparison.Ordinal) => Messages[17],
            _ => StripPath(e.Message),
        };
    }

    /// <summary>ENOTDIR: some directory on the path is a regular file.</summary>
    private static bool HasFileAncestor(string path)
    {
        for (var dir = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(dir))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>"No space left on device : '/x'" → "No space left on device".</summary>
    private static string StripPath(string message)
    {
        var at = message.IndexOf(" : '", StringComparison.Ordinal);
        return at > 0 && message.EndsWith('\'') ? message[..at] : message;
    }
}
