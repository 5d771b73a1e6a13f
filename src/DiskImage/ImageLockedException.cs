namespace DiskImage;

/// <summary>
/// Another process holds a lock that conflicts with the permissions asked for
/// (<c>Failed to get "write" lock</c>, as QEMU says).
/// </summary>
public sealed class ImageLockedException : ImageAccessException
{
    /// <summary>Creates the exception with a general message.</summary>
    public ImageLockedException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public ImageLockedException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public ImageLockedException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for the file whose lock conflicts.</summary>
    /// <param name="message">qemu-img's <c>Failed to get ... lock</c> line.</param>
    /// <param name="fileName">The file, named as it was opened (for <see cref="Hint"/>).</param>
    public ImageLockedException(string message, string fileName) : base(message) => FileName = fileName;

    /// <summary>The file whose lock is taken, named as it was opened.</summary>
    public string? FileName { get; }

    /// <summary>The line QEMU prints after the error: <c>Is another process using the image [NAME]?</c></summary>
    public string Hint => $"Is another process using the image [{FileName}]?";
}
