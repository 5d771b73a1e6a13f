using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// An image that can say where its guest bytes lie, unchanged, in a host file (its own, or a backing file's), so a copy
/// can move them from file to file inside the kernel instead of through a buffer.
/// </summary>
internal interface IHostFileRuns
{
    /// <summary>
    /// The run of guest bytes from <paramref name="offset"/> (at most <paramref name="length"/>): where they are stored
    /// as they read, or no file where they are not (zero, compressed, encrypted, past a backing file's end).
    /// </summary>
    HostFileRun GetHostFileRun(long offset, long length);
}

/// <summary>One answer of <see cref="IHostFileRuns.GetHostFileRun"/>.</summary>
/// <param name="Length">Guest bytes covered (positive).</param>
/// <param name="File">The file holding them as they read, or null.</param>
/// <param name="FileOffset">Offset of the first byte in <paramref name="File"/>.</param>
internal readonly record struct HostFileRun(long Length, HostFile? File, long FileOffset);
