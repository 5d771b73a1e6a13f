namespace DiskImage;

/// <summary>The passphrase given for an encrypted image opens none of its key slots.</summary>
public sealed class InvalidPassphraseException : DiskImageException
{
    /// <summary>Creates the exception with a general message.</summary>
    public InvalidPassphraseException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public InvalidPassphraseException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public InvalidPassphraseException(string message, Exception innerException) : base(message, innerException) { }
}
