namespace DiskImage;

/// <summary>The image is corrupt, truncated or crafted: a field is out of range or structures overlap.</summary>
public class InvalidImageException : DiskImageException
{
    /// <summary>Creates the exception with a general message.</summary>
    public InvalidImageException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public InvalidImageException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public InvalidImageException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with the file offset where the problem lies.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="fileOffset">Byte offset in the file.</param>
    public InvalidImageException(string message, long fileOffset) : base(message) => FileOffset = fileOffset;

    /// <summary>Host file offset of the offending structure, when one is known.</summary>
    public long? FileOffset { get; }
}
