namespace DiskImage.IO.Blkdebug;

/// <summary>
/// A raw format node over a file (a qcow2 data file given as <c>{"driver": "raw", "file": ...}</c>): it passes every
/// request through unchanged and, as QEMU's raw driver does, raises <c>read_aio</c> before each read and
/// <c>write_aio</c> before each write on the file below, which a blkdebug node there can act on.
/// </summary>
internal sealed class BlkdebugRawNode(IStorage file) : IStorage
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
        BlkdebugStorage.Raise(file, BlkdebugEvent.ReadAio);
        file.Read(offset, buffer);
    }

    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        BlkdebugStorage.Raise(file, BlkdebugEvent.ReadAio);
        return file.ReadAvailable(offset, buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        BlkdebugStorage.Raise(file, BlkdebugEvent.WriteAio);
        file.Write(offset, data);
    }

    public void SetLength(long length) => file.SetLength(length);

    public void Flush() => file.Flush();

    public bool TryAllocate(long offset, long length) => file.TryAllocate(offset, length);

    public void WriteZeroes(long offset, long length, bool mayUnmap) => file.WriteZeroes(offset, length, mayUnmap);

    public void Discard(long offset, long length) => file.Discard(offset, length);

    public void WriteZeroBytes(long offset, long length)
    {
        // Zero bytes written as data are a write request to the raw driver.
        BlkdebugStorage.Raise(file, BlkdebugEvent.WriteAio);
        file.WriteZeroBytes(offset, length);
    }

    public IReadOnlyList<Extent> GetExtents(long offset, long length) => file.GetExtents(offset, length);

    public void Dispose() => file.Dispose();
}
