using DiskImage.IO;

namespace DiskImage.Formats.Filters;

/// <summary>
/// The snapshot-access node over a plain file: it reads and writes only through a copy-before-write node's snapshot,
/// which a plain file is not, so every read, write and block-status request fails with ENOTSUP, as QEMU's does.
/// Discards and flushes have nothing to act on and succeed.
/// </summary>
internal sealed class SnapshotAccessStorage(IStorage file) : IStorage
{
    public string Path => file.Path;

    public bool CanWrite => file.CanWrite;

    public long Length => file.Length;

    public long? AllocatedSize => file.AllocatedSize;

    public bool IgnoreFlushes
    {
        get => file.IgnoreFlushes;
        set => file.IgnoreFlushes = value;
    }

    public void Read(long offset, Span<byte> buffer) => throw Unsupported();

    public int ReadAvailable(long offset, Span<byte> buffer) => throw Unsupported();

    public void Write(long offset, ReadOnlySpan<byte> data) => throw Unsupported();

    public void SetLength(long length) => throw new UnsupportedFeatureException("Image format driver does not support resize");

    public void Flush()
    {
    }

    public bool TryAllocate(long offset, long length) => false;

    public void WriteZeroes(long offset, long length, bool mayUnmap) => throw Unsupported();

    public void Discard(long offset, long length)
    {
    }

    public void WriteZeroBytes(long offset, long length) => throw Unsupported();

    /// <summary>Fails as a host error (an errno), which the verbs report in their own words, as qemu-img does.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) =>
        throw new IOException("Operation not supported", Unsupported()) { HResult = ErrnoException.ENOTSUP };

    public void Dispose() => file.Dispose();

    private static ErrnoException Unsupported() => new(ErrnoException.ENOTSUP, "Operation not supported");
}
