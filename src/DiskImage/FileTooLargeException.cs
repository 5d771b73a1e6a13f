namespace DiskImage;

/// <summary>
/// The host file system cannot hold a file that large (<c>EFBIG</c>): qemu-img reports it as an image size too
/// large for the format, so it is told apart from other access errors.
/// </summary>
public class FileTooLargeException : ImageAccessException
{
    public FileTooLargeException() : base("File too large") { }

    public FileTooLargeException(string message) : base(message) { }

    public FileTooLargeException(string message, Exception innerException) : base(message, innerException) { }
}
