namespace DiskImage;

/// <summary>An output names a file that is also an input (or part of an input's backing chain); refused before anything is written.</summary>
public sealed class SameFileException : InvalidOptionException
{
    /// <summary>Creates the exception with a general message.</summary>
    public SameFileException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public SameFileException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public SameFileException(string message, Exception innerException) : base(message, innerException) { }
}
