namespace DiskImage;

/// <summary>A format name was given that no registered driver has.</summary>
public class UnknownFormatException : DiskImageException
{
    public UnknownFormatException() { }

    public UnknownFormatException(string message) : base(message) { }

    public UnknownFormatException(string message, Exception innerException) : base(message, innerException) { }
}
