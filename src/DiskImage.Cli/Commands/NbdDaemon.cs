using System.Runtime.InteropServices;

namespace DiskImage.Cli.Commands;

/// <summary>
/// What <c>--fork</c>'s server process does to become a daemon, as qemu-nbd's does: a session of its own (no
/// terminal's signals reach it), and once it listens, standard input and output and errors on /dev/null, so it
/// holds nothing of the caller's open (a caller reading the command's output to its end would otherwise wait
/// for the server to stop).
/// </summary>
internal static class NbdDaemon
{
    /// <summary>Leaves the caller's session; a failure (already a group leader) changes nothing that matters.</summary>
    public static void NewSession() => _ = NativeMethods.SetSid();

    /// <summary>
    /// Points descriptors 0, 1 and 2 at /dev/null, and every other descriptor open on the same files: the runtime
    /// keeps its own duplicates of the standard streams for <see cref="Console"/>, and those would keep the caller's
    /// pipes open just as well. The streams stay usable; what is written to them is dropped, as for qemu-nbd's daemon.
    /// </summary>
    public static void ReleaseStandardStreams()
    {
        var standard = new HashSet<string>(StringComparer.Ordinal);
        for (var fd = 0; fd <= 2; fd++)
        {
            if (LinkOf(fd.ToString(System.Globalization.CultureInfo.InvariantCulture)) is { } target)
            {
                standard.Add(target);
            }
        }

        var devNull = NativeMethods.Open("/dev/null", 2 /* O_RDWR */);
        if (devNull < 0)
        {
            return;
        }

        var descriptors = Directory.GetFiles("/proc/self/fd").Select(System.IO.Path.GetFileName)
            .Select(name => int.TryParse(name, out var fd) && fd != devNull && (fd <= 2 || (LinkOf(name!) is { } target && standard.Contains(target))) ? fd : -1)
            .Where(fd => fd >= 0).ToList();
        foreach (var fd in descriptors)
        {
            _ = NativeMethods.Dup2(devNull, fd);
        }

        if (devNull > 2)
        {
            _ = NativeMethods.Close(devNull);
        }
    }

    private static string? LinkOf(string fd)
    {
        try
        {
            return new FileInfo("/proc/self/fd/" + fd).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "setsid")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int SetSid();

        [DllImport("libc", EntryPoint = "open", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open(string path, int flags);

        [DllImport("libc", EntryPoint = "dup2")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Dup2(int from, int to);

        [DllImport("libc", EntryPoint = "close")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
