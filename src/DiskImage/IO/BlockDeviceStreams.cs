namespace DiskImage.IO;

/// <summary>Opens a <see cref="DiskImageStream"/> over a device or an image.</summary>
public static class BlockDeviceStreams
{
    /// <summary>
    /// A seekable stream over <paramref name="device"/>, writable when the device is. The caller keeps
    /// ownership: disposing the stream leaves the device open.
    /// </summary>
    public static DiskImageStream AsStream(this IBlockDevice device) => new(device, leaveOpen: true);
}
