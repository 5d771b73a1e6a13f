namespace DiskImage;

/// <summary>The image is valid but uses a feature this library does not implement, named in the message.</summary>
public class UnsupportedFeatureException : DiskImageException
{
    public UnsupportedFeatureException() { }

    public UnsupportedFeatureException(string message) : base(message) { }

    public UnsupportedFeatureException(string message, Exception innerException) : base(message, innerException) { }
}
