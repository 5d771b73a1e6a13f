namespace DiskImage;

/// <summary>The image is corrupt, truncated or crafted: a field is out of range or structures overlap.</summary>
public class InvalidImageException : DiskImageException
{
    public InvalidImageException() { }

    public InvalidImageException(string message) : base(message) { }

    public InvalidImageException(string message, Exception innerException) : base(message, innerException) { }

    public InvalidImageException(string message, long fileOffset) : base(message) => FileOffset = fileOffset;

    /// <summary>Host file offset of the offending structure, when one is known.</summary>
    public long? FileOffset { get; }
}
