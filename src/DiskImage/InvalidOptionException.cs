namespace DiskImage;

/// <summary>An option or option combination was refused (as qemu-img refuses it), before any file was touched.</summary>
public class InvalidOptionException : DiskImageException
{
    public InvalidOptionException() { }

    public InvalidOptionException(string message) : base(message) { }

    public InvalidOptionException(string message, Exception innerException) : base(message, innerException) { }
}
