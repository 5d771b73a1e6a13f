namespace DiskImage.IO;

/// <summary>Whether image files are locked: QEMU's <c>file.locking</c> option.</summary>
public enum ImageLocking
{
    /// <summary>Lock with open-file-description locks where the kernel has them; do not lock where it has not (QEMU's default).</summary>
    Auto,

    /// <summary>Always lock, falling back to process-wide POSIX locks where open-file-description locks are missing.</summary>
    On,

    /// <summary>Never lock: nothing guards the file against other processes.</summary>
    Off,
}
