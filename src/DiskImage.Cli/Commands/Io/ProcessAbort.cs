using System.Runtime.InteropServices;

namespace DiskImage.Cli.Commands.Io;

/// <summary>qemu-io's <c>abort</c>: ends the process by SIGABRT at once, with no cleanup, as a crash would.</summary>
internal static class ProcessAbort
{
    public static void Now() => NativeMethods.Abort();

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "abort")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern void Abort();
    }
}
