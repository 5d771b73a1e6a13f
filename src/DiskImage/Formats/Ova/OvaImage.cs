using DiskImage.IO;

namespace DiskImage.Formats.Ova;

/// <summary>One disk of an OVA, read in place from the archive through the disk format's reader.</summary>
public sealed class OvaImage : IDiskImage
{
    private readonly IStorage _archive;
    private readonly IDiskImage _disk;
    private readonly OvaSpecificInfo _info;

    internal OvaImage(string path, IStorage archive, IDiskImage disk, OvaSpecificInfo info)
    {
        FilePath = path;
        _archive = archive;
        _disk = disk;
        _info = info;
    }

    /// <inheritdoc/>
    public IImageFormat Format => OvaFormat.Instance;

    /// <inheritdoc/>
    public string FilePath { get; }

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => _disk.Length;

    /// <inheritdoc/>
    public bool CanWrite => false;

    /// <inheritdoc/>
    public ImageInfo GetInfo()
    {
        var disk = _disk.GetInfo();
        return new ImageInfo
        {
            Filename = FilePath,
            Format = OvaFormat.Instance.Name,
            VirtualSize = disk.VirtualSize,
            ActualSize = _archive.AllocatedSize,
            ClusterSize = disk.ClusterSize,
            FormatSpecific = _info,
        };
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer) => _disk.Read(offset, buffer);

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) => _disk.GetExtents(offset, length);

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data) => throw new InvalidOperationException("The image was opened read-only.");

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap) => throw new InvalidOperationException("The image was opened read-only.");

    /// <inheritdoc/>
    public void Discard(long offset, long length) => throw new InvalidOperationException("The image was opened read-only.");

    /// <inheritdoc/>
    public void Flush()
    {
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _disk.Dispose();
        _archive.Dispose();
    }
}
