using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>
/// An image's guest data used as storage, so that a format can sit on another format (QEMU's stacked nodes:
/// <c>file.driver=qcow2</c> under qcow2, or a raw window under qcow2). Its length is the image's virtual size,
/// which the format above cannot change.
/// </summary>
internal sealed class ImageStorage(IDiskImage image) : IStorage
{
    /// <summary>errno ENOSPC, carried in the exception's HResult as callers map it.</summary>
    private const int ErrnoNoSpace = 28;

    /// <summary>The image whose guest data this is.</summary>
    public IDiskImage Image => image;

    public string Path => image.FilePath;

    public bool CanWrite => image.CanWrite;

    public long Length => image.Length;

    /// <summary>The host file's allocation, as qemu-img's disk size of a stacked image counts its innermost file.</summary>
    public long? AllocatedSize => image.GetInfo().ActualSize;

    /// <summary>Flushes always reach the image below; its own file decides what a flush costs.</summary>
    public bool IgnoreFlushes { get; set; }

    public void Read(long offset, Span<byte> buffer)
    {
        var available = ReadAvailable(offset, buffer);
        buffer[available..].Clear();
    }

    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = (int)Math.Clamp(image.Length - offset, 0, buffer.Length);
        if (count > 0)
        {
            image.Read(offset, buffer[..count]);
        }

        return count;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckInside(offset, data.Length);
        image.Write(offset, data);
    }

    public void SetLength(long length)
    {
        if (length != image.Length)
        {
            throw new UnsupportedFeatureException($"Cannot resize the image '{image.FilePath}' that holds another format ({image.Length} bytes)");
        }
    }

    public void Flush()
    {
        if (!IgnoreFlushes)
        {
            image.Flush();
        }
    }

    public bool TryAllocate(long offset, long length) => false;

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckInside(offset, length);
        image.WriteZeroes(offset, length, mayUnmap);
    }

    public void Discard(long offset, long length)
    {
        CheckInside(offset, length);
        image.Discard(offset, length);
    }

    public void WriteZeroBytes(long offset, long length)
    {
        CheckInside(offset, length);
        image.WriteZeroes(offset, length, mayUnmap: false);
    }

    public IReadOnlyList<Extent> GetExtents(long offset, long length) => image.GetExtents(offset, length);

    public void Dispose() => image.Dispose();

    /// <summary>The image below has a fixed size: a write past it fails instead of growing anything.</summary>
    private void CheckInside(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > image.Length - length)
        {
            // As a fixed-size window: the image below cannot grow, so a write past its end has no space.
            throw new IOException("No space left on device", ErrnoNoSpace);
        }
    }
}
