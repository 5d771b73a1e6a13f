namespace DiskImage.IO.Blkverify;

/// <summary>
/// QEMU's <c>blkverify</c> driver as storage: every request goes to the image under test and to a raw copy of it; reads
/// must return the same bytes from both, and a difference raises <see cref="VerificationMismatchException"/> (QEMU ends
/// the process there, so no caller treats it as an I/O error it could recover from). The image under
/// test gives the length and the data; flushes reach only it, as the copy is only a reference.
/// </summary>
internal sealed class BlkverifyStorage(IStorage raw, IStorage test) : IStorage
{
    /// <summary>The image under test, as storage.</summary>
    public IStorage Test => test;

    /// <summary>The raw copy, the node's file: block status (and map's file column) come from it.</summary>
    public IStorage Raw => raw;

    /// <summary>QEMU's name for the node: both children's names after the prefix.</summary>
    public string Path => $"{BlkverifyName.Prefix}{raw.Path}:{test.Path}";

    public bool CanWrite => raw.CanWrite && test.CanWrite;

    public long Length => test.Length;

    /// <summary>The node has no allocation of its own to report (qemu-img: <c>disk size: unavailable</c>).</summary>
    public long? AllocatedSize => null;

    public bool IgnoreFlushes { get; set; }

    public void Read(long offset, Span<byte> buffer)
    {
        var available = ReadAvailable(offset, buffer);
        buffer[available..].Clear();
    }

    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = test.ReadAvailable(offset, buffer);
        var copy = new byte[buffer.Length];
        raw.Read(offset, copy);
        var mismatch = buffer[..count].CommonPrefixLength(copy.AsSpan(0, count));
        if (mismatch < count)
        {
            throw new VerificationMismatchException($"blkverify: read offset={offset} bytes={buffer.Length} contents mismatch at offset {offset + mismatch}");
        }

        return count;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        test.Write(offset, data);
        raw.Write(offset, data);
    }

    public void SetLength(long length) => throw new UnsupportedFeatureException("Image does not support resizing");

    public void Flush()
    {
        if (!IgnoreFlushes)
        {
            test.Flush();
        }
    }

    public bool TryAllocate(long offset, long length) => false;

    public void WriteZeroes(long offset, long length, bool mayUnmap) => WriteZeroBytes(offset, length);

    /// <summary>Zeroes reach both children, as QEMU writes them through the node's ordinary write.</summary>
    public void WriteZeroBytes(long offset, long length)
    {
        test.WriteZeroBytes(offset, length);
        raw.WriteZeroBytes(offset, length);
    }

    /// <summary>The driver has no discard: a hint it ignores.</summary>
    public void Discard(long offset, long length)
    {
    }

    /// <summary>The raw copy's allocation: the driver is a filter over that file and reports no status of its own.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) => raw.GetExtents(offset, length);

    public void Dispose()
    {
        test.Dispose();
        raw.Dispose();
    }
}
