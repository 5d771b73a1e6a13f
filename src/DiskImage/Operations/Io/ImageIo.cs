using DiskImage.Formats;

namespace DiskImage.Operations.Io;

/// <summary>
/// <c>qemu-io [-c CMD]... [FILE]</c>: opens an image (read-write unless asked otherwise) and runs the
/// commands in order, each one even after an earlier one failed, as qemu-io does.
/// </summary>
public static class ImageIo
{
    /// <summary>Runs every command, handing each outcome to <paramref name="report"/>; true when none failed.</summary>
    public static bool Run(IoOptions options, Action<IoCommandOutcome> report, ImageFormatRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(report);
        return Run(options, options.Commands, report, registry, fromInput: false);
    }

    /// <summary>
    /// Runs command lines as they come from <paramref name="commands"/> (qemu-io reading its standard input:
    /// each line is taken only after the previous command finished), until <c>quit</c> or <c>abort</c>.
    /// False when the image could not be opened or any command failed.
    /// </summary>
    public static bool Run(IoOptions options, IEnumerable<string> commands, Action<IoCommandOutcome> report, ImageFormatRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(commands);
        ArgumentNullException.ThrowIfNull(report);
        return Run(options, commands, report, registry, fromInput: true);
    }

    private static bool Run(IoOptions options, IEnumerable<string> commands, Action<IoCommandOutcome> report, ImageFormatRegistry? registry, bool fromInput)
    {
        using var session = new QemuIoSession(registry ?? ImageFormatRegistry.Default)
        {
            DeferAioCompletions = !fromInput,
            ImageOptsSyntax = options.NamedByOptions,
            SecretProvider = options.SecretProvider,
        };
        if (options.Path is not null)
        {
            var output = new QemuIoOutput();
            bool opened;
            try
            {
                opened = session.Open(Settings(options.Path, options), output);
            }
            catch (VerificationMismatchException)
            {
                // The run ends here, as QEMU's does; what the open printed before still reaches the caller.
                report(output.ToOutcome(true));
                throw;
            }

            var outcome = output.ToOutcome(!opened);
            if (outcome.Lines.Count > 0)
            {
                report(outcome);
            }

            if (!opened)
            {
                return false;
            }
        }

        var ok = true;
        var aborted = false;
        foreach (var command in commands)
        {
            var outcome = session.Execute(command);
            ok &= !outcome.Failed;
            report(outcome);
            aborted = outcome.Abort;
            if (outcome.Quit || outcome.Abort)
            {
                break;
            }
        }

        var closing = new QemuIoOutput();
        if (!aborted)
        {
            session.Close(closing);
        }

        if (closing.Lines.Count > 0)
        {
            report(closing.ToOutcome(false));
        }

        return ok;
    }

    /// <summary>The session's open settings for the run's image.</summary>
    private static QemuIoOpenSettings Settings(string path, IoOptions options) => new(path)
    {
        Format = options.Format,
        ReadOnly = options.ReadOnly,
        Snapshot = options.Snapshot,
        ForceShare = options.ForceShare,
        IgnoreFlushes = options.IgnoreFlushes,
        DirectIo = options.DirectIo,
        WriteThrough = options.WriteThrough,
        DefaultCache = options.DefaultCache,
        IgnoreDiscards = options.IgnoreDiscards,
        SecretProvider = options.SecretProvider,
        KeySecret = options.KeySecret,
        NamedByOptions = options.NamedByOptions,
        CopyOnRead = options.CopyOnRead,
    };
}
