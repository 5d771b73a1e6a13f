using DiskImage.IO;

namespace DiskImage.Crypto;

/// <summary>A LUKS area stored at a fixed place in a host file (qcow2's FDE header extension points at it).</summary>
internal sealed class HostFileLuksStorage(IStorage file, long start, long length) : ILuksStorage
{
    public long Length => length;

    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        file.Read(start + offset, buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckRange(offset, data.Length);
        file.Write(start + offset, data);
    }

    private void CheckRange(long offset, int count)
    {
        if (offset < 0 || offset + count > length)
        {
            throw new InvalidImageException($"LUKS access at {offset}+{count} lies outside the {length}-byte LUKS area", start);
        }
    }
}
