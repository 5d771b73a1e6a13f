namespace DiskImage;

/// <summary>
/// A persistent dirty bitmap was found <c>in_use</c> (not stored cleanly) and the operation needs it
/// consistent (<c>Bitmap 'NAME' is inconsistent and cannot be used</c>, as QEMU says).
/// </summary>
public sealed class InconsistentBitmapException : UnsupportedFeatureException
{
    public InconsistentBitmapException() { }

    public InconsistentBitmapException(string message) : base(message) { }

    public InconsistentBitmapException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The line QEMU prints after the error.</summary>
    public static string Hint => "Try block-dirty-bitmap-remove to delete this bitmap from disk";
}
