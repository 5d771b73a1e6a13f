namespace DiskImage;

/// <summary>
/// Another process holds a lock that conflicts with the permissions asked for
/// (<c>Failed to get "write" lock</c>, as QEMU says).
/// </summary>
public class ImageLockedException : ImageAccessException
{
    public ImageLockedException() { }

    public ImageLockedException(string message) : base(message) { }

    public ImageLockedException(string message, Exception innerException) : base(message, innerException) { }

    public ImageLockedException(string message, string fileName) : base(message) => FileName = fileName;

    /// <summary>The file whose lock is taken, named as it was opened.</summary>
    public string? FileName { get; }

    /// <summary>The line QEMU prints after the error: <c>Is another process using the image [NAME]?</c></summary>
    public string Hint => $"Is another process using the image [{FileName}]?";
}
