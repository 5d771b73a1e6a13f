using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>An opened image file: a block device plus what qemu-img would say about the file.</summary>
public interface IDiskImage : IBlockDevice
{
    /// <summary>The driver that opened this image.</summary>
    IImageFormat Format { get; }

    /// <summary>Path the image was opened from.</summary>
    string FilePath { get; }

    /// <summary>
    /// The opened backing image, or null when there is none or it was not opened
    /// (<see cref="ImageOpenOptions.OpenBackingChain"/> off). Owned by this image.
    /// </summary>
    IDiskImage? Backing { get; }

    /// <summary>What <c>qemu-img info</c> reports for this file alone (no backing chain).</summary>
    ImageInfo GetInfo();
}
