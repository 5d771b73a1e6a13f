namespace DiskImage.IO;

/// <summary>
/// What the storage nodes that are only ever read (a vvfat directory, a quorum) answer alike: every change is refused
/// in the node's own words, flushes have nothing to send, and, as their drivers report no block status of their own,
/// every byte is data. What <see cref="Formats.ReadOnlyImageIo"/> is for the read-only image formats.
/// </summary>
internal abstract class ReadOnlyStorage : IStorage
{
    public abstract string Path { get; }

    public bool CanWrite => false;

    public abstract long Length { get; }

    public abstract long? AllocatedSize { get; }

    public bool IgnoreFlushes { get; set; }

    public abstract void Read(long offset, Span<byte> buffer);

    public abstract int ReadAvailable(long offset, Span<byte> buffer);

    public void Write(long offset, ReadOnlySpan<byte> data) => throw Refusal();

    public void SetLength(long length) => throw Refusal();

    public void Flush()
    {
    }

    public bool TryAllocate(long offset, long length) => false;

    public void WriteZeroes(long offset, long length, bool mayUnmap) => throw Refusal();

    public void Discard(long offset, long length) => throw Refusal();

    public void WriteZeroBytes(long offset, long length) => throw Refusal();

    /// <summary>One data extent over the range, as QEMU's block layer reports a driver without block status.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) =>
        length == 0 ? [] : [new Extent(offset, length, ExtentKind.Data)];

    public abstract void Dispose();

    /// <summary>The node's refusal of a change, with the errno its driver gives.</summary>
    protected abstract Exception Refusal();
}
