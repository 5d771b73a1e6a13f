namespace DiskImage;

/// <summary>
/// A failure QEMU reports by its errno alone (<c>-11 (Resource temporarily unavailable)</c>, <c>Invalid argument</c>):
/// the message is strerror's text and <see cref="Errno"/> the positive errno value.
/// </summary>
internal sealed class ErrnoException : ImageAccessException
{
    public ErrnoException(int errno, string message) : base(message) => Errno = errno;

    public const int EPERM = 1;
    public const int EIO = 5;
    public const int EAGAIN = 11;
    public const int EINVAL = 22;
    public const int EFBIG = 27;
    public const int ENOTSUP = 95;
    public const int ENOMEDIUM = 123;

    public int Errno { get; }

    /// <summary>The errno QEMU's block layer returns for <paramref name="e"/>, where one is known.</summary>
    public static int? Of(Exception e) => e switch
    {
        ErrnoException errno => errno.Errno,
        FileTooLargeException => EFBIG,
        _ => null,
    };

    /// <summary>strerror's text for the errno values raised here.</summary>
    public static string Text(int errno) => errno switch
    {
        EPERM => "Operation not permitted",
        EIO => "Input/output error",
        EAGAIN => "Resource temporarily unavailable",
        EINVAL => "Invalid argument",
        EFBIG => "File too large",
        ENOTSUP => "Operation not supported",
        ENOMEDIUM => "No medium found",
        _ => "Unknown error " + errno,
    };
}
