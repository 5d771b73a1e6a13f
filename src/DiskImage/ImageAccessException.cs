namespace DiskImage;

/// <summary>The file behind an image could not be opened, read or written (missing, permissions, I/O error).</summary>
public class ImageAccessException : DiskImageException
{
    public ImageAccessException() { }

    public ImageAccessException(string message) : base(message) { }

    public ImageAccessException(string message, Exception innerException) : base(message, innerException) { }
}
