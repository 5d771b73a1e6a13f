namespace DiskImage;

/// <summary>
/// The image is marked corrupt, or an operation found metadata that would be overwritten and so marked
/// it corrupt (QEMU's overlap check). Read-write access is refused until it is repaired.
/// </summary>
public sealed class ImageCorruptException : InvalidImageException
{
    /// <summary>Creates the exception with a general message.</summary>
    public ImageCorruptException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public ImageCorruptException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public ImageCorruptException(string message, Exception innerException) : base(message, innerException) { }
}
