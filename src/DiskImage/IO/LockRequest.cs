namespace DiskImage.IO;

/// <summary>
/// What a file is locked for: the permissions the opener holds, those it lets others hold, and the
/// name its lock errors give (QEMU names the file as it was opened).
/// </summary>
public readonly record struct LockRequest(LockPermissions Permissions, LockPermissions Shared, ImageLocking Locking, string Name);
