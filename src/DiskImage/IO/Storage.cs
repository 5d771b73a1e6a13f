using DiskImage.Nbd.Client;

namespace DiskImage.IO;

/// <summary>Opens the storage a name refers to: a host file, an NBD export for <c>nbd:</c> names, or the image under a
/// pass-through <c>blkdebug::PATH</c>.</summary>
public static class Storage
{
    /// <summary>Opens existing storage; errors become <see cref="ImageAccessException"/> in qemu-img's words.</summary>
    public static IStorage Open(string name, bool writable) => Open(name, writable, lockRequest: null);

    /// <summary>
    /// Opens existing storage and, for a host file, locks it as QEMU's file driver does (<see cref="ImageLock"/>);
    /// a conflict with another process throws <see cref="ImageLockedException"/>. NBD exports take no file locks.
    /// </summary>
    public static IStorage Open(string name, bool writable, LockRequest? lockRequest) =>
        BlkdebugName.IsBlkdebug(name) ? Open(BlkdebugName.ImagePath(name), writable, lockRequest)
        : NbdUri.IsNbd(name) ? NbdStorage.Open(name, writable) : HostFile.Open(name, writable, lockRequest);
}
