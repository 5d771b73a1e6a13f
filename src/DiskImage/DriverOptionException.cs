namespace DiskImage;

/// <summary>
/// A create option refused by the format itself rather than by the option parser: qemu-img announces the image
/// (<c>Formatting '...'</c>) before its format driver checks these, so the CLI reports them after that line.
/// </summary>
public sealed class DriverOptionException : InvalidOptionException
{
    /// <summary>Creates the exception with a general message.</summary>
    public DriverOptionException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording.</param>
    public DriverOptionException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording.</param>
    /// <param name="innerException">The underlying failure.</param>
    public DriverOptionException(string message, Exception innerException) : base(message, innerException) { }
}
