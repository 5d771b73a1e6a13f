using DiskImage.Crypto;

namespace DiskImage.Tests.Crypto;

/// <summary>A LUKS area in memory, for tests.</summary>
internal sealed class MemoryLuksStorage(int length) : ILuksStorage
{
    public byte[] Bytes { get; } = new byte[length];

    public long Length => Bytes.Length;

    public void Read(long offset, Span<byte> buffer) => Bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);

    public void Write(long offset, ReadOnlySpan<byte> data) => data.CopyTo(Bytes.AsSpan((int)offset));
}
