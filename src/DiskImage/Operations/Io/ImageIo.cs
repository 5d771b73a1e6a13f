using DiskImage.Formats;

namespace DiskImage.Operations.Io;

/// <summary>
/// <c>qemu-io -c CMD... FILE</c>: opens an image (read-write unless asked otherwise) and runs the
/// commands in order, each one even after an earlier one failed, as qemu-io does.
/// </summary>
public static class ImageIo
{
    /// <summary>Runs every command, handing each outcome to <paramref name="report"/>; true when none failed.</summary>
    public static bool Run(IoOptions options, Action<IoCommandOutcome> report, ImageFormatRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Run(options, options.Commands, report, registry);
    }

    /// <summary>
    /// Runs command lines as they come from <paramref name="commands"/> (qemu-io reading its standard input:
    /// each line is taken only after the previous command finished). Blank lines are skipped; <c>quit</c>
    /// (or <c>q</c>) ends the run.
    /// </summary>
    public static bool Run(IoOptions options, IEnumerable<string> commands, Action<IoCommandOutcome> report, ImageFormatRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(commands);
        ArgumentNullException.ThrowIfNull(report);
        registry ??= ImageFormatRegistry.Default;
        using var image = registry.Open(options.Path, options.Format, new ImageOpenOptions { ReadOnly = options.ReadOnly, SecretProvider = options.SecretProvider, KeySecret = options.KeySecret, ForceShare = options.ForceShare });
        var session = new QemuIoSession(image);
        var ok = true;
        foreach (var command in commands)
        {
            var trimmed = command.Trim();
            if (trimmed.Length == 0)
            {
                continue;
            }

            if (trimmed is "quit" or "q")
            {
                break;
            }

            var outcome = session.Execute(command);
            ok &= !outcome.Failed;
            report(outcome);
        }

        return ok;
    }
}
