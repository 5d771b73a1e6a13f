using System.Runtime.InteropServices;

namespace DiskImage.IO.Nfs;

/// <summary>The process's own user and group ids, which AUTH_SYS sends when no <c>user</c>/<c>group</c> is given.</summary>
internal static partial class NativeIds
{
    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    public static partial uint GetGid();
}
