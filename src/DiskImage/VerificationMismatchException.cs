namespace DiskImage;

/// <summary>
/// A blkverify node found its two children disagreeing on a read. QEMU treats that as fatal and ends the process
/// with the driver's own line; this is neither an I/O error nor an image error, so no operation catches it as one
/// and it reaches the caller unchanged (the CLI prints <see cref="Exception.Message"/> bare and exits with 1).
/// </summary>
public sealed class VerificationMismatchException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public VerificationMismatchException() : base("blkverify: contents mismatch") { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The driver's line, as QEMU prints it.</param>
    public VerificationMismatchException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">The driver's line, as QEMU prints it.</param>
    /// <param name="innerException">The underlying failure.</param>
    public VerificationMismatchException(string message, Exception innerException) : base(message, innerException) { }
}
