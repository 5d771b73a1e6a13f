using DiskImage.Formats;

namespace DiskImage.Operations.Io;

/// <summary>The errno values qemu-io commands return, and the strerror text it prints for them.</summary>
internal static class QemuIoErrno
{
    public const int EPERM = -1;
    public const int ENOENT = -2;
    public const int EIO = -5;
    public const int EINVAL = -22;
    public const int ENOTSUP = -95;
    public const int EFBIG = -27;
    public const int ENOSPC = -28;

    public static string Text(int error) => error switch
    {
        ENOENT => "No such file or directory",
        EIO => "Input/output error",
        EINVAL => "Invalid argument",
        < 0 when ErrnoException.Text(-error) is var text && !text.StartsWith("Unknown", StringComparison.Ordinal) => text,
        ENOTSUP => "Operation not supported",
        EFBIG => "File too large",
        ENOSPC => "No space left on device",
        < 0 and > -4096 => IO.ErrnoText.Strerror(-error),
        _ => "Unknown error",
    };

    /// <summary>The errno a library failure stands for, as the block layer would have returned it.</summary>
    public static int From(Exception e) => e switch
    {
        UnsupportedFeatureException or NotSupportedException => ENOTSUP,
        FileTooLargeException => EFBIG,
        ErrnoException errno => -errno.Errno,
        InvalidOptionException or ArgumentException => EINVAL,
        IOException io when (io.HResult & 0xffff) == 28 || io.Message.Contains("No space left", StringComparison.Ordinal) => ENOSPC,
        IOException { HResult: > 0 and < 4096 } io => -io.HResult, // errno, as the host file and blkdebug nodes report it
        _ => EIO,
    };

    /// <summary>Failures a command reports as a line, not as a crash.</summary>
    public static bool IsIoFailure(Exception e) => e is DiskImageException or IOException or ArgumentException or NotSupportedException;
}
