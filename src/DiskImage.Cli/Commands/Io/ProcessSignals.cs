using System.Runtime.InteropServices;

namespace DiskImage.Cli.Commands.Io;

/// <summary>qemu-io's <c>abort</c> and <c>sigraise</c>: signals this process sends itself, with no cleanup, as a crash would.</summary>
internal static class ProcessSignals
{
    /// <summary>SIGABRT, at once.</summary>
    public static void Abort() => NativeMethods.Abort();

    /// <summary>raise(3); returns when the signal is ignored or handled.</summary>
    public static void Raise(int signal) => _ = NativeMethods.Raise(signal);

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "abort")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern void Abort();

        [DllImport("libc", EntryPoint = "raise")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Raise(int signal);
    }
}
