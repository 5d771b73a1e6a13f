namespace DiskImage;

/// <summary>An option or option combination was refused (as qemu-img refuses it), before any file was touched.</summary>
public class InvalidOptionException : DiskImageException
{
    /// <summary>Creates the exception with a general message.</summary>
    public InvalidOptionException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public InvalidOptionException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public InvalidOptionException(string message, Exception innerException) : base(message, innerException) { }
}
