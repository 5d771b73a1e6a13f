using System.Text.RegularExpressions;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// What differential tests normalise before comparing qemu-io's or qemu-img's output with diskimg's: the image's
/// path (each side writes its own copy), qemu-io's timing lines, and the program name that starts an error line.
/// </summary>
internal static partial class QemuToolOutput
{
    public static string Normalise(string text, string? image = null)
    {
        if (image is not null)
        {
            text = text.Replace(image, "IMG", StringComparison.Ordinal);
        }

        text = TimingLine().Replace(text, "X ops; TIME");
        return ProgramName().Replace(text, "PROG: ");
    }

    [GeneratedRegex(@"[0-9]* ops; [0-9/:. sec]* \([0-9/.inf]* [EPTGMKiBbytes]*/sec and [0-9/.inf]* ops/sec\)")]
    private static partial Regex TimingLine();

    [GeneratedRegex(@"(?m)^(qemu-io|qemu-img|diskimg): ")]
    private static partial Regex ProgramName();
}
