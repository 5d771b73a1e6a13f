namespace DiskImage.IO;

/// <summary>
/// The container an image format reads and writes: QEMU's "protocol" layer under its "format" layer.
/// A host file is one implementation (<see cref="HostFile"/>), an NBD export another. Members mirror
/// <see cref="HostFile"/>'s so that format code only changes the type it holds. Thread-safe and positional.
/// </summary>
public interface IStorage : IDisposable
{
    /// <summary>The name the storage was opened with (a path or a URI); what qemu-img prints as the file name.</summary>
    string Path { get; }

    /// <summary>Whether the storage was opened for writing.</summary>
    bool CanWrite { get; }

    /// <summary>Current length in bytes.</summary>
    long Length { get; }

    /// <summary>Bytes the storage occupies, or its length where that cannot be had.</summary>
    long AllocatedSize { get; }

    /// <summary>When set, <see cref="Flush"/> does nothing (QEMU's <c>cache=unsafe</c>).</summary>
    bool IgnoreFlushes { get; set; }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes; bytes past the end read as zeroes.</summary>
    void Read(long offset, Span<byte> buffer);

    /// <summary>Reads up to <c>buffer.Length</c> bytes, stopping at the end; returns the count read.</summary>
    int ReadAvailable(long offset, Span<byte> buffer);

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/>, growing the storage where it can grow.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Sets the length (truncating or extending with zeroes); storage of fixed size refuses a change.</summary>
    void SetLength(long length);

    /// <summary>Makes every completed write durable (unless <see cref="IgnoreFlushes"/>).</summary>
    void Flush();

    /// <summary>Reserves space for the range without writing it; false where the storage cannot.</summary>
    bool TryAllocate(long offset, long length);

    /// <summary>Makes the range read as zeroes without changing the length; with <paramref name="mayUnmap"/> space may be released.</summary>
    void WriteZeroes(long offset, long length, bool mayUnmap);

    /// <summary>Releases the range's space where the storage can; the range then reads as zeroes.</summary>
    void Discard(long offset, long length);

    /// <summary>Writes literal zero bytes over the range (full preallocation).</summary>
    void WriteZeroBytes(long offset, long length);

    /// <summary>
    /// Allocation status of <c>[offset, offset + length)</c>: <see cref="ExtentKind.Data"/> or
    /// <see cref="ExtentKind.Zero"/> runs covering the range; all data where the storage cannot tell.
    /// </summary>
    IReadOnlyList<Extent> GetExtents(long offset, long length);
}
