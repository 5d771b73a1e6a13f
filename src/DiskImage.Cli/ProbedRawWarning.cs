using DiskImage.Formats;

namespace DiskImage.Cli;

/// <summary>
/// QEMU's warning when an image opened for writing had no format named and probing found raw (its writes to the
/// first sector are then restricted). qemu-img prints it as the image opens, before anything else it says.
/// </summary>
internal static class ProbedRawWarning
{
    /// <summary>Prints the warning when <paramref name="path"/> is a plain file, no format was named, and it probes as raw.</summary>
    public static void WriteIfProbedRaw(CliContext context, string path, string? format)
    {
        if (format is not null || !File.Exists(path))
        {
            return;
        }

        try
        {
            if (ImageFormatRegistry.Default.Probe(path).Name != "raw")
            {
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DiskImageException)
        {
            // The open that follows reports what is wrong with the file.
            return;
        }

        context.Error.WriteLine($"WARNING: Image format was not specified for '{path}' and probing guessed raw.");
        context.Error.WriteLine("         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.");
        context.Error.WriteLine("         Specify the 'raw' format explicitly to remove the restrictions.");
    }
}
