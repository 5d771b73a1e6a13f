using DiskImage.Formats;

namespace DiskImage.IO.Blkdebug;

/// <summary>
/// A blkdebug node above a format (<c>{"driver": "blkdebug", "image": {"driver": "qcow2", ...}}</c>): the guest's
/// requests, block status included, pass through the node's rules at guest offsets before they reach the format.
/// Only the events a node at this level sees can activate rules: <c>none</c> when it opens and <c>cor_write</c>
/// when qemu-io copies on read; the format's own events are raised on the format's file, below it.
/// </summary>
internal sealed class BlkdebugImage : IDiskImage
{
    private readonly IDiskImage _image;

    public BlkdebugImage(IDiskImage image, IReadOnlyList<BlkdebugRule> rules)
    {
        _image = image;
        Node = new BlkdebugStorage(new Formats.Raw.ImageStorage(image), rules);
    }

    /// <summary>The node itself, over the format's guest data.</summary>
    public BlkdebugStorage Node { get; }

    /// <summary>The format below the node.</summary>
    public IDiskImage Image => _image;

    public IImageFormat Format => _image.Format;

    public string FilePath => _image.FilePath;

    public IDiskImage? Backing => _image.Backing;

    public long Length => _image.Length;

    public bool CanWrite => _image.CanWrite;

    public ImageInfo GetInfo() => _image.GetInfo();

    public void Read(long offset, Span<byte> buffer) => Node.Read(offset, buffer);

    public void Write(long offset, ReadOnlySpan<byte> data) => Node.Write(offset, data);

    public void WriteZeroes(long offset, long length, bool mayUnmap) => Node.WriteZeroes(offset, length, mayUnmap);

    public void Discard(long offset, long length) => Node.Discard(offset, length);

    public void Flush() => Node.Flush();

    public IReadOnlyList<Extent> GetExtents(long offset, long length) => Node.GetExtents(offset, length);

    public void Dispose() => _image.Dispose();
}
