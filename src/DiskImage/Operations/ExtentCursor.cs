using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations;

/// <summary>
/// Walks an image's chain-resolved block status forward, asking for it one window at a time so a
/// fragmented image never needs one huge extent list. Past the image's end (up to the whole-sector
/// size QEMU reports) it answers <see cref="ExtentKind.Unallocated"/>.
/// </summary>
internal sealed class ExtentCursor
{
    private const long Window = 1L << 30;

    private readonly IDiskImage _image;
    private readonly long _end;
    private List<Extent> _extents = [];
    private int _index;
    private long _windowEnd;

    /// <param name="image">Image whose extents are walked.</param>
    /// <param name="end">Offset the walk stops at; may pass the image's length.</param>
    public ExtentCursor(IDiskImage image, long end)
    {
        _image = image;
        _end = end;
    }

    /// <summary>The run of one kind that starts at <paramref name="offset"/> (offsets must not go backwards).</summary>
    public Extent At(long offset)
    {
        if (offset >= _image.Length)
        {
            return new Extent(offset, _end - offset, ExtentKind.Unallocated);
        }

        if (offset >= _windowEnd)
        {
            var length = Math.Min(Window, _image.Length - offset);
            _extents = ChainExtents.Resolve(_image, offset, length);
            _index = 0;
            _windowEnd = offset + length;
        }

        while (_index < _extents.Count && _extents[_index].End <= offset)
        {
            _index++;
        }

        if (_index == _extents.Count)
        {
            throw new InvalidImageException($"Block status of '{_image.FilePath}' does not cover offset {offset}");
        }

        var extent = _extents[_index];
        return new Extent(offset, extent.End - offset, extent.Kind);
    }

    /// <summary>Reads <paramref name="buffer"/> at <paramref name="offset"/>; bytes past the image's end read as zeroes.</summary>
    public static void ReadPadded(IBlockDevice device, long offset, Span<byte> buffer)
    {
        var inside = (int)Math.Clamp(device.Length - offset, 0, buffer.Length);
        device.Read(offset, buffer[..inside]);
        buffer[inside..].Clear();
    }
}
