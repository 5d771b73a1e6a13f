using DiskImage.IO;

namespace DiskImage.Formats.Filters.Throttle;

/// <summary>
/// The throttle node's view of its file: every read, write, write-zeroes and discard first waits for its group's
/// room (zeroes and discards count as writes of their length, as QEMU counts them); flushes and block status pass.
/// </summary>
internal sealed class ThrottledStorage(IStorage file, ThrottleGroup group) : IStorage
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

    public void Read(long offset, Span<byte> buffer)
    {
        group.Admit(buffer.Length, isWrite: false);
        file.Read(offset, buffer);
    }

    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        group.Admit(buffer.Length, isWrite: false);
        return file.ReadAvailable(offset, buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        group.Admit(data.Length, isWrite: true);
        file.Write(offset, data);
    }

    public void SetLength(long length) => file.SetLength(length);

    public void Flush() => file.Flush();

    public bool TryAllocate(long offset, long length) => file.TryAllocate(offset, length);

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        group.Admit(length, isWrite: true);
        file.WriteZeroes(offset, length, mayUnmap);
    }

    public void Discard(long offset, long length)
    {
        group.Admit(length, isWrite: true);
        file.Discard(offset, length);
    }

    public void WriteZeroBytes(long offset, long length)
    {
        group.Admit(length, isWrite: true);
        file.WriteZeroBytes(offset, length);
    }

    public IReadOnlyList<Extent> GetExtents(long offset, long length) => file.GetExtents(offset, length);

    public void Dispose() => file.Dispose();
}
