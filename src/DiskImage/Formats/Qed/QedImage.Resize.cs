namespace DiskImage.Formats.Qed;

public sealed partial class QedImage
{
    /// <summary>
    /// Grows the image: only the header's size changes (tables already cover every size the header allows). QEMU
    /// refuses preallocation, sizes its tables cannot map or that are not whole sectors, and any shrink.
    /// </summary>
    internal void Resize(long newSize, Preallocation preallocation)
    {
        CheckWritable();
        if (preallocation != Preallocation.Off)
        {
            throw new UnsupportedFeatureException($"Unsupported preallocation mode '{preallocation.ToString().ToLowerInvariant()}'");
        }

        if (newSize < 0 || !QedHeader.IsImageSizeValid((ulong)newSize, _header.ClusterSize, _header.TableSize))
        {
            throw new InvalidOptionException("Invalid image size specified");
        }

        lock (_lock)
        {
            if ((ulong)newSize < _header.ImageSize)
            {
                throw new UnsupportedFeatureException("Shrinking images is currently not supported");
            }

            _header = _header with { ImageSize = (ulong)newSize };
            WriteHeaderLocked();
        }
    }
}
