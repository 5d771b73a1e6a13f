using DiskImage.IO;

namespace DiskImage.Tests.Formats.Iso9660;

/// <summary>A read-only block device over a byte array, for feeding hand-made structures to the ISO reader.</summary>
internal sealed class MemoryDevice(byte[] bytes) : IBlockDevice
{
    public long Length => bytes.Length;

    public bool CanWrite => false;

    public void Read(long offset, Span<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + buffer.Length, bytes.Length);
        bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> data) => throw new NotSupportedException();

    public void WriteZeroes(long offset, long length, bool mayUnmap) => throw new NotSupportedException();

    public void Discard(long offset, long length) => throw new NotSupportedException();

    public void Flush() { }

    public IReadOnlyList<Extent> GetExtents(long offset, long length) => [new Extent(offset, length, ExtentKind.Data)];

    public void Dispose() { }
}
