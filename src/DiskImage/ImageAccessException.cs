namespace DiskImage;

/// <summary>The file behind an image could not be opened, read or written (missing, permissions, I/O error).</summary>
public class ImageAccessException : DiskImageException
{
    /// <summary>Creates the exception with a general message.</summary>
    public ImageAccessException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public ImageAccessException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public ImageAccessException(string message, Exception innerException) : base(message, innerException) { }
}
