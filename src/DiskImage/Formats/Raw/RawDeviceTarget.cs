using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>
/// Creating a raw image on a block or character device: a device keeps its length, so it is only checked to be
/// long enough (qemu-img's host_device driver refuses to grow it) and its first sector is zeroed, so that no old
/// image header is seen through the new raw image. The device node itself is never truncated or replaced.
/// </summary>
internal static class RawDeviceTarget
{

    public static void Create(string path, long size, Preallocation preallocation, string driver = "host_device")
    {
        if (preallocation != Preallocation.Off)
        {
            throw new InvalidOptionException($"Unsupported preallocation mode '{preallocation.ToString().ToLowerInvariant()}'");
        }

        using var file = OpenLocked(path, driver);
        if (driver == "host_cdrom" && !CdromCalls.HasDisc(file.Handle))
        {
            // QEMU's resize to the new size asks the drive first; a device without a disc (or no CD-ROM drive at
            // all) fails there, before anything is written.
            throw new ImageAccessException("No medium inserted");
        }

        var length = file.Length;
        if (size > length)
        {
            throw new ImageAccessException("Cannot grow device files");
        }

        var clear = (int)Math.Min(length, 512);
        if (clear > 0)
        {
            file.Write(0, new byte[clear]);
            file.Flush();
        }
    }

    /// <summary>
    /// Opens the device as QEMU opens a node it cannot create (read, write and resize, sharing everything), so a
    /// device a running VM holds is refused, not zeroed; a failure carries qemu-img's words for that fallback.
    /// </summary>
    private static HostFile OpenLocked(string path, string driver)
    {
        try
        {
            return HostFile.Open(path, writable: true, new LockRequest(LockPermissions.Write | LockPermissions.Resize, LockPermissions.All, ImageLocking.Auto, path));
        }
        catch (DiskImageException e)
        {
            e.PrependContext(QemuFormatNames.OpenInsteadOfCreatePrefix(driver));
            throw;
        }
    }

}
