using System.Runtime.InteropServices;

namespace DiskImage.Formats.Iso9660;

/// <summary>Reads a host file's uid and gid (lstat), which the BCL does not expose; null where unavailable.</summary>
internal static unsafe partial class HostOwnership
{
    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LStat(string path, byte* statBuffer);

    public static (uint Uid, uint Gid)? Get(string path)
    {
        // st_uid/st_gid offsets in struct stat: x86-64 keeps st_nlink (8 bytes) before st_mode; the generic layout (arm64) does not.
        var (uidOffset, gidOffset) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (28, 32),
            Architecture.Arm64 => (24, 28),
            _ => (-1, -1),
        };
        if (!OperatingSystem.IsLinux() || uidOffset < 0)
        {
            return null;
        }

        byte* buffer = stackalloc byte[256];
        if (LStat(path, buffer) != 0)
        {
            return null;
        }

        return (*(uint*)(buffer + uidOffset), *(uint*)(buffer + gidOffset));
    }
}
