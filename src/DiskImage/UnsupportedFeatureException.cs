namespace DiskImage;

/// <summary>The image is valid but uses a feature this library does not implement, named in the message.</summary>
public class UnsupportedFeatureException : DiskImageException
{
    /// <summary>Creates the exception with a general message.</summary>
    public UnsupportedFeatureException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public UnsupportedFeatureException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public UnsupportedFeatureException(string message, Exception innerException) : base(message, innerException) { }
}
