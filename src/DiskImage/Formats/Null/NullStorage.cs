using DiskImage.IO;

namespace DiskImage.Formats.Null;

/// <summary>
/// QEMU's null block driver as storage: a fixed size, writes discarded, nothing allocated. Reads always return zeroes;
/// with <c>read-zeroes=off</c> QEMU leaves the caller's buffer as it was, which this driver never does (a read must not
/// hand back whatever the buffer held), but block status still reports the data as unknown rather than zero.
/// </summary>
internal sealed class NullStorage(string path, long length, bool readZeroes, bool writable) : IStorage
{
    public string Path => path;

    public bool CanWrite => writable;

    public long Length => length;

    public long? AllocatedSize => 0;

    public bool IgnoreFlushes { get; set; }

    public void Read(long offset, Span<byte> buffer) => buffer.Clear();

    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = (int)Math.Clamp(length - offset, 0, buffer.Length);
        buffer[..count].Clear();
        return count;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
    }

    public void SetLength(long newLength) => throw new UnsupportedFeatureException("Cannot resize a null-co node");

    public void Flush()
    {
    }

    public bool TryAllocate(long offset, long count) => true;

    public void WriteZeroes(long offset, long count, bool mayUnmap)
    {
    }

    public void Discard(long offset, long count)
    {
    }

    public void WriteZeroBytes(long offset, long count)
    {
    }

    /// <summary>As QEMU's block status for the node: zero with <c>read-zeroes</c>, otherwise neither data nor zero.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long count) =>
        count == 0 ? [] : [new Extent(offset, count, readZeroes ? ExtentKind.Zero : ExtentKind.Unallocated)];

    public void Dispose()
    {
    }
}
