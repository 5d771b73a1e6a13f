using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>
/// A window onto another storage: offsets are shifted by the window's start and the length is the window's
/// (fixed when a size was given, else the rest of the file, which may then grow and shrink).
/// </summary>
internal sealed class WindowStorage : IStorage
{
    /// <summary>errno ENOSPC, carried in the exception's HResult as callers map it.</summary>
    private const int ErrnoNoSpace = 28;

    private readonly IStorage _inner;
    private readonly long _offset;
    private readonly long? _size;

    private WindowStorage(IStorage inner, long offset, long? size)
    {
        _inner = inner;
        _offset = offset;
        _size = size;
    }

    /// <summary>Checks the window against the file, with QEMU's errors, and wraps it; the file is disposed on failure.</summary>
    public static WindowStorage Open(IStorage inner, RawWindow window)
    {
        var fileLength = inner.Length;
        try
        {
            if (window.Offset > fileLength)
            {
                throw new InvalidOptionException($"Offset ({window.Offset}) cannot be greater than size of the containing file ({fileLength})");
            }

            if (window.Size is { } size && size > fileLength - window.Offset)
            {
                throw new InvalidOptionException($"The sum of offset ({window.Offset}) and size ({size}) has to be smaller or equal to the  actual size of the containing file ({fileLength})");
            }
        }
        catch
        {
            inner.Dispose();
            throw;
        }

        return new WindowStorage(inner, window.Offset, window.Size);
    }

    /// <summary>Whether the window was given a size: QEMU's raw driver then refuses every resize, even to the same size.</summary>
    public bool FixedSize => _size is not null;

    /// <summary>The storage the window is onto.</summary>
    public IStorage Inner => _inner;

    /// <summary>Where the window starts in the file.</summary>
    public long Start => _offset;

    public string Path => _inner.Path;

    public bool CanWrite => _inner.CanWrite;

    public long Length => _size ?? Math.Max(0, _inner.Length - _offset);

    public long? AllocatedSize => _inner.AllocatedSize;

    public bool IgnoreFlushes
    {
        get => _inner.IgnoreFlushes;
        set => _inner.IgnoreFlushes = value;
    }

    public void Read(long offset, Span<byte> buffer) => _inner.Read(_offset + offset, buffer);

    public int ReadAvailable(long offset, Span<byte> buffer) =>
        _inner.ReadAvailable(_offset + offset, buffer[..(int)Math.Clamp(Length - offset, 0, buffer.Length)]);

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckInside(offset, data.Length);
        _inner.Write(_offset + offset, data);
    }

    public void SetLength(long length)
    {
        if (_size is not null)
        {
            throw new UnsupportedFeatureException("Cannot resize fixed-size raw disks");
        }

        _inner.SetLength(checked(_offset + length));
    }

    public void Flush() => _inner.Flush();

    public bool TryAllocate(long offset, long length)
    {
        CheckInside(offset, length);
        return _inner.TryAllocate(_offset + offset, length);
    }

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckInside(offset, length);
        _inner.WriteZeroes(_offset + offset, length, mayUnmap);
    }

    public void Discard(long offset, long length)
    {
        CheckInside(offset, length);
        _inner.Discard(_offset + offset, length);
    }

    public void WriteZeroBytes(long offset, long length)
    {
        CheckInside(offset, length);
        _inner.WriteZeroBytes(_offset + offset, length);
    }

    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        var extents = _inner.GetExtents(_offset + offset, length);
        var shifted = new List<Extent>(extents.Count);
        foreach (var extent in extents)
        {
            shifted.Add(extent with { Offset = extent.Offset - _offset });
        }

        return shifted;
    }

    public void Dispose() => _inner.Dispose();

    /// <summary>A fixed-size window never lets writes spill into the bytes after it.</summary>
    private void CheckInside(long offset, long length)
    {
        if (offset < 0 || length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} is negative.");
        }

        if (_size is { } size && offset > size - length)
        {
            // QEMU's raw driver answers ENOSPC for a write past a window of fixed size.
            throw new IOException("No space left on device", ErrnoNoSpace);
        }
    }
}
