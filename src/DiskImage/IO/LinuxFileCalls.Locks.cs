using System.Runtime.InteropServices;

namespace DiskImage.IO;

/// <summary>fcntl byte-range locks: open-file-description locks (Linux 3.15+) and POSIX locks.</summary>
internal static partial class LinuxFileCalls
{
    public const int FGetLk = 5;
    public const int FSetLk = 6;
    public const int FOfdGetLk = 36;
    public const int FOfdSetLk = 37;
    public const short FRdLck = 0;
    public const short FWrLck = 1;
    public const short FUnLck = 2;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EINVAL = 22;

    /// <summary><c>struct flock</c> as laid out on 64-bit Linux (x86-64 and the generic arm64 layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct FLock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int FcntlLock(nint fd, int command, ref FLock flock);

    /// <summary>Whether fcntl locks can be used at all: Linux on a 64-bit process (the <see cref="FLock"/> layout).</summary>
    public static bool LocksAvailable { get; } = IsAvailable && Environment.Is64BitProcess
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;
}
