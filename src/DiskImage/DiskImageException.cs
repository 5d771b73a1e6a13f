namespace DiskImage;

/// <summary>Base of every error the library reports about images, options or the files behind them.</summary>
/// <remarks>Messages are one line, fit for showing to a user as they are.</remarks>
public class DiskImageException : Exception
{
    public DiskImageException() { }

    public DiskImageException(string message) : base(message) { }

    public DiskImageException(string message, Exception innerException) : base(message, innerException) { }
}
