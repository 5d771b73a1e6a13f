using System.Runtime.InteropServices;

namespace DiskImage.IO;

/// <summary><c>stat(2)</c>: device, inode and type of the file a path names (links followed).</summary>
internal static partial class FileStatCalls
{
    private const uint TypeMask = 0xF000;

    public static bool IsAvailable { get; } = OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* statBuffer);

    /// <remarks>
    /// st_dev and st_ino are the first two 64-bit fields of struct stat on x86-64 and the generic (arm64)
    /// layout; st_mode follows st_nlink (64-bit) on x86-64 and precedes a 32-bit st_nlink on arm64.
    /// </remarks>
    public static unsafe bool TryStat(string path, out ulong device, out ulong inode, out FileKind kind)
    {
        device = inode = 0;
        kind = FileKind.Other;
        if (!IsAvailable)
        {
            return false;
        }

        byte* buffer = stackalloc byte[256];
        if (Stat(path, buffer) != 0)
        {
            return false;
        }

        device = *(ulong*)buffer;
        inode = *(ulong*)(buffer + 8);
        var mode = *(uint*)(buffer + (RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16));
        kind = (mode & TypeMask) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x6000 => FileKind.BlockDevice,
            0x2000 => FileKind.CharacterDevice,
            _ => FileKind.Other,
        };
        return true;
    }

    /// <summary>
    /// Size, mode bits and times (seconds) of the file a path names, links followed. st_size and the three timespecs
    /// sit at the same offsets (48, 72, 88, 104) in x86-64's and the generic (arm64) struct stat.
    /// </summary>
    public static unsafe bool TryStatTimes(string path, out FileTimes times)
    {
        times = default;
        if (!IsAvailable)
        {
            return false;
        }

        byte* buffer = stackalloc byte[256];
        if (Stat(path, buffer) != 0)
        {
            return false;
        }

        var mode = *(uint*)(buffer + (RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16));
        times = new FileTimes(mode, *(long*)(buffer + 48), *(long*)(buffer + 72), *(long*)(buffer + 88), *(long*)(buffer + 104));
        return true;
    }

    /// <summary>What <see cref="TryStatTimes"/> reads: st_mode, st_size, and st_atime, st_mtime, st_ctime in seconds.</summary>
    internal readonly record struct FileTimes(uint Mode, long Size, long AccessTime, long ModifyTime, long ChangeTime)
    {
        public bool IsDirectory => (Mode & TypeMask) == 0x4000;

        public bool IsWritable => (Mode & 0x92) != 0;
    }
}
