using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DiskImage.IO;

/// <summary>
/// Whether a host CD-ROM device holds a disc, asked as QEMU's <c>host_cdrom</c> driver asks before every request
/// (Linux's <c>CDROM_DRIVE_STATUS</c> for the current slot): anything but "disc OK", a failed call on a device that
/// is no CD-ROM drive included, means no medium.
/// </summary>
internal static partial class CdromCalls
{
    private const nuint DriveStatus = 0x5326;
    private const int CurrentSlot = int.MaxValue;
    private const int DiscOk = 4;

    /// <summary>Whether the device behind <paramref name="handle"/> reports a disc; off Linux every device counts as holding one.</summary>
    public static bool HasDisc(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        return IoctlInt(handle, DriveStatus, CurrentSlot) == DiscOk;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlInt(SafeFileHandle fd, nuint request, int argument);
}
