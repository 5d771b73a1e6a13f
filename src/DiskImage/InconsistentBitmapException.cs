namespace DiskImage;

/// <summary>
/// A persistent dirty bitmap was found <c>in_use</c> (not stored cleanly) and the operation needs it
/// consistent (<c>Bitmap 'NAME' is inconsistent and cannot be used</c>, as QEMU says).
/// </summary>
public sealed class InconsistentBitmapException : UnsupportedFeatureException
{
    /// <summary>Creates the exception with a general message.</summary>
    public InconsistentBitmapException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public InconsistentBitmapException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public InconsistentBitmapException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The line QEMU prints after the error.</summary>
    public static string Hint => "Try block-dirty-bitmap-remove to delete this bitmap from disk";
}
