namespace DiskImage;

/// <summary>
/// The host file system cannot hold a file that large (<c>EFBIG</c>): qemu-img reports it as an image size too
/// large for the format, so it is told apart from other access errors.
/// </summary>
public sealed class FileTooLargeException : ImageAccessException
{
    /// <summary>Creates the exception with a general message.</summary>
    public FileTooLargeException() : base("File too large") { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public FileTooLargeException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public FileTooLargeException(string message, Exception innerException) : base(message, innerException) { }
}
