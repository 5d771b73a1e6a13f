namespace DiskImage.IO;

/// <summary>
/// A disk as the guest sees it: a fixed-length array of bytes addressed by offset.
/// Every member is thread-safe and positional; there is no shared file position, so any number of
/// readers may run at once. Reads always fill the whole buffer; unallocated ranges read as zeroes.
/// </summary>
/// <remarks>
/// The interface is synchronous on purpose. On Linux the runtime serves asynchronous file I/O with a
/// thread-pool <c>pread</c> anyway, so the copy engine gets its overlap from worker threads instead of
/// from fake asynchrony.
/// </remarks>
public interface IBlockDevice : IDisposable
{
    /// <summary>Guest-visible size in bytes.</summary>
    long Length { get; }

    /// <summary>False when the device was opened read-only.</summary>
    bool CanWrite { get; }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes at <paramref name="offset"/>; the range must lie within <see cref="Length"/>.</summary>
    void Read(long offset, Span<byte> buffer);

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/>; the range must lie within <see cref="Length"/>.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Makes the range read as zeroes. With <paramref name="mayUnmap"/> the space may be released.</summary>
    void WriteZeroes(long offset, long length, bool mayUnmap);

    /// <summary>
    /// Tells the device the range is no longer needed. Afterwards the range reads as zeroes, or, for an
    /// image with a backing file, possibly as the backing file's content (as QEMU's discard does).
    /// </summary>
    void Discard(long offset, long length);

    /// <summary>Makes every completed write durable (metadata included).</summary>
    void Flush();

    /// <summary>
    /// Block status of <c>[offset, offset + length)</c>: consecutive, non-overlapping extents that
    /// together cover the whole range, adjacent extents of the same kind merged.
    /// </summary>
    IReadOnlyList<Extent> GetExtents(long offset, long length);
}
