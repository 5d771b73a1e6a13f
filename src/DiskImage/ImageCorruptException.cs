namespace DiskImage;

/// <summary>
/// The image is marked corrupt, or an operation found metadata that would be overwritten and so marked
/// it corrupt (QEMU's overlap check). Read-write access is refused until it is repaired.
/// </summary>
public class ImageCorruptException : InvalidImageException
{
    public ImageCorruptException() { }

    public ImageCorruptException(string message) : base(message) { }

    public ImageCorruptException(string message, Exception innerException) : base(message, innerException) { }
}
