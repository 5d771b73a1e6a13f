namespace DiskImage.Cli;

/// <summary>
/// The name messages are prefixed with. Like QEMU's tools, the executable goes by the name it was started as, so a
/// symlink or `exec -a` called qemu-img makes diskimg report as "qemu-img: ..." and scripts that match qemu-img's
/// messages keep working. Hosted runs (dotnet diskimg.dll, test hosts) are always "diskimg".
/// </summary>
internal static class ProgramName
{
    private const string Default = "diskimg";

    public static string Value { get; } = Detect();

    private static string Detect()
    {
        try
        {
            if (!OperatingSystem.IsLinux() || Path.GetFileName(Environment.ProcessPath) != Default)
            {
                return Default;
            }

            // argv[0] as the caller gave it: the first NUL-terminated entry of the command line (bounded read).
            Span<byte> buffer = stackalloc byte[512];
            using var cmdline = File.OpenRead("/proc/self/cmdline");
            var length = cmdline.Read(buffer);
            var argv0 = buffer[..length];
            var end = argv0.IndexOf((byte)0);
            var name = Path.GetFileName(System.Text.Encoding.UTF8.GetString(end >= 0 ? argv0[..end] : argv0));
            return name.Length == 0 ? Default : name;
        }
        catch (IOException)
        {
            return Default;
        }
        catch (UnauthorizedAccessException)
        {
            return Default;
        }
    }
}
