namespace DiskImage;

/// <summary>A format name was given that no registered driver has.</summary>
public sealed class UnknownFormatException : DiskImageException
{
    /// <summary>Creates the exception with a general message.</summary>
    public UnknownFormatException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public UnknownFormatException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public UnknownFormatException(string message, Exception innerException) : base(message, innerException) { }
}
