namespace DiskImage;

/// <summary>The passphrase given for an encrypted image opens none of its key slots.</summary>
public class InvalidPassphraseException : DiskImageException
{
    public InvalidPassphraseException() { }

    public InvalidPassphraseException(string message) : base(message) { }

    public InvalidPassphraseException(string message, Exception innerException) : base(message, innerException) { }
}
