using DiskImage.Formats;

namespace DiskImage.Cli;

/// <summary>
/// qemu-img's three-line warning when it opens for writing a plain file whose format it had to guess and guessed
/// raw (QEMU then guards block 0 against a written format signature). Printed as the image is opened, before the
/// verb's own errors; a file that cannot be read (or is no host file: a json: or
/// URL name, a directory) gets no warning, as its open fails first.
/// </summary>
internal static class ProbedRawWarning
{
    public static void WriteIfProbed(CliContext context, string path, string? format, bool imageOpts)
    {
        if (format is not null || imageOpts || !File.Exists(path))
        {
            return;
        }

        try
        {
            if (ImageFormatRegistry.Default.Probe(path) is not Formats.Raw.RawFormat)
            {
                return;
            }
        }
        catch (Exception e) when (e is DiskImageException or IOException or UnauthorizedAccessException)
        {
            return;
        }

        context.Error.WriteLine($"WARNING: Image format was not specified for '{path}' and probing guessed raw.");
        context.Error.WriteLine("         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.");
        context.Error.WriteLine("         Specify the 'raw' format explicitly to remove the restrictions.");
    }
}
