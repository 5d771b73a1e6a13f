using System.Runtime.InteropServices;

namespace DiskImage.IO;

/// <summary>The few Linux calls the BCL does not expose: hole finding, fallocate, allocated size.</summary>
internal static partial class LinuxFileCalls
{
    public const int SeekEnd = 2;
    public const int SeekData = 3;
    public const int SeekHole = 4;
    public const int FallocKeepSize = 0x01;
    public const int FallocPunchHole = 0x02;
    public const int FallocZeroRange = 0x10;
    public const int ENXIO = 6;

    public static bool IsAvailable { get; } = OperatingSystem.IsLinux();

    /// <summary>File too large.</summary>
    public const int EFBig = 27;

    /// <summary>No space left on device.</summary>
    public const int ENoSpc = 28;

    /// <summary>Cross-device link (<c>copy_file_range</c> between file systems on older kernels).</summary>
    public const int EXDev = 18;

    /// <summary>Invalid argument.</summary>
    public const int EInval = 22;

    /// <summary>Function not implemented.</summary>
    public const int ENoSys = 38;

    /// <summary>Operation not supported.</summary>
    public const int EOpNotSupp = 95;

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long LSeek(nint fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int FAllocate(nint fd, int mode, long offset, long length);

    /// <summary><c>f_type</c> of ext2, ext3 and ext4.</summary>
    public const long Ext4Magic = 0xEF53;

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static unsafe partial int FStatFs(nint fd, byte* statfsBuffer);

    /// <summary>The file system type (<c>statfs.f_type</c>) of the file, or null when it cannot be had.</summary>
    /// <remarks>f_type is the first field of struct statfs, a long, on x86-64 and the generic (arm64) layout.</remarks>
    public static unsafe long? FileSystemType(nint fd)
    {
        if (!IsAvailable || (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)))
        {
            return null;
        }

        byte* buffer = stackalloc byte[256];
        return FStatFs(fd, buffer) == 0 ? *(long*)buffer : null;
    }

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static unsafe partial int FStat(nint fd, byte* statBuffer);

    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    public static partial nint CopyFileRange(nint fdIn, ref long offIn, nint fdOut, ref long offOut, nuint length, uint flags);

    /// <summary>st_blocks × 512, or null when it cannot be had.</summary>
    /// <remarks>st_blocks sits at byte 64 of struct stat on both x86-64 and the generic (arm64) layout.</remarks>
    public static unsafe long? AllocatedBytes(nint fd)
    {
        if (!IsAvailable || (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)))
        {
            return null;
        }

        byte* buffer = stackalloc byte[256];
        if (FStat(fd, buffer) != 0)
        {
            return null;
        }

        return *(long*)(buffer + 64) * 512;
    }

    /// <summary>st_dev and st_ino (bytes 0 and 8 of struct stat on x86-64 and arm64), or null when they cannot be had.</summary>
    public static unsafe (ulong Device, ulong Inode)? Identity(nint fd)
    {
        if (!IsAvailable || (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)))
        {
            return null;
        }

        byte* buffer = stackalloc byte[256];
        if (FStat(fd, buffer) != 0)
        {
            return null;
        }

        return (*(ulong*)buffer, *(ulong*)(buffer + 8));
    }
}
