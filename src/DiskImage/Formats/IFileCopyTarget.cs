using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>An image that can take guest data straight from a host file range (<c>copy_file_range</c>).</summary>
internal interface IFileCopyTarget
{
    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/> as <see cref="IBlockDevice.Write"/> does. The same bytes
    /// lie in <paramref name="source"/> at <paramref name="sourceOffset"/>: where the image stores them plainly in a host
    /// file they are copied from there inside the kernel; whatever that copy does not cover is written from
    /// <paramref name="data"/>, so the result is the same either way.
    /// </summary>
    void WriteCopying(long offset, ReadOnlySpan<byte> data, HostFile source, long sourceOffset);
}
