using System.CommandLine;
using DiskImage.Cli.Commands;
using DiskImage.Cli.Commands.Io;

namespace DiskImage.Cli;

/// <summary>Builds the <c>diskimg</c> command tree and runs it, turning library errors into one line and an exit code.</summary>
internal static class DiskImageCli
{
    /// <summary>Shows the cursor again (a progress display hides it while it runs).</summary>
    private const string ShowCursor = "\e[?25h";

    public static int Run(string[] args)
    {
        using var interruption = new Interruption();
        return Run(args, Console.Out, Console.Error, errorIsTerminal: !Console.IsErrorRedirected, interruption, outputIsTerminal: !Console.IsOutputRedirected);
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool errorIsTerminal = false, Interruption? interruption = null, bool outputIsTerminal = false)
    {
        // Warnings the library raises while the verb runs (qemu-img prints them and goes on).
        // A warning led by a driver's name ("qcow2: ...") is one QEMU's driver prints itself, without the program's name;
        // one led by "qemu: " is its module loader's notice (dmg), which names QEMU alone.
        // vvfat's lines are printed bare, without even the driver's name.
        using var warnings = ImageWarnings.Listen(message => stderr.WriteLine(
            message.StartsWith("qcow2: ", StringComparison.Ordinal) || message.StartsWith("qemu: ", StringComparison.Ordinal) ? message
            : message.StartsWith("vvfat: ", StringComparison.Ordinal) ? message["vvfat: ".Length..]
            : $"{ProgramName.Value}: {message}"));
        // Everything this command line keeps while it runs lives in its context, none of it process-wide.
        var context = new CliContext(stdout, stderr) { ErrorIsTerminal = errorIsTerminal, OutputIsTerminal = outputIsTerminal, Cancellation = interruption?.Token ?? default };
        try
        {
            if (args.Length == 0)
            {
                throw new UsageException("Not enough arguments");
            }

            var global = GlobalOptions.Read(args, stdout, stderr);
            if (global.ExitCode is { } exit)
            {
                return exit;
            }

            args = global.Help ? ["--help"] : global.Arguments;
            var root = BuildCommands(context, args[0]);

            if (!args[0].StartsWith('-') && !root.Subcommands.Any(c => c.Name == args[0] || c.Aliases.Contains(args[0])))
            {
                throw new UsageException($"Command not found: {args[0]}");
            }

            string[] tokens;
            if (args[0] == "io")
            {
                // qemu-io's own option loop, which acts on some options as it meets them.
                if (Commands.Io.IoCommandLine.Normalize(args[1..], stdout, stderr, out var exitCode) is not { } ioTokens)
                {
                    return exitCode;
                }

                tokens = ["io", .. ioTokens];
            }
            else
            {
                tokens = QemuArguments.Normalize(args, root);
            }

            var parse = root.Parse(tokens);
            if (parse.Errors.Count > 0)
            {
                // "Unrecognized command or argument 'x'" says more than the "Required command" that comes with it.
                var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
                return ErrorReporter.ReportParseError(stderr, error.Message);
            }

            if (interruption is not null)
            {
                interruption.Enabled = HonoursCancellation(parse.CommandResult.Command);
            }

            // Signals are handled by Interruption, not by System.CommandLine's own handler.
            var configuration = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return parse.InvokeAsync(configuration, interruption?.Token ?? default).GetAwaiter().GetResult();
        }
        catch (HelpPrintedException help)
        {
            stdout.Write(help.Text);
            return 0;
        }
        catch (Exception e) when (interruption?.Signal is not null && IsCancellation(e))
        {
            // The operation stopped and removed what it had not finished; one line, and the signal's exit status.
            if (outputIsTerminal)
            {
                stdout.Write(ShowCursor);
            }

            stderr.WriteLine($"{ProgramName.Value}: interrupted by {interruption.SignalName}");
            return interruption.ExitCode;
        }
        catch (Exception e)
        {
            // Whatever went wrong, a user sees one line, never a stack trace.
            return ErrorReporter.Report(stderr, e, context.ImageOptsNames);
        }
    }

    /// <summary>
    /// The verbs whose operations take the cancellation token (long copies, checks, builds). Others keep the
    /// signals' default action, so a signal still stops them at once.
    /// </summary>
    private static bool HonoursCancellation(Command command) => command.Name is "convert" or "dd" or "commit" or "rebase" or "compare"
        or "check" or "amend" or "bitmap" or "measure" or "bench" or "create" or "extract" or "cloud-init";

    private static bool IsCancellation(Exception e) => e switch
    {
        OperationCanceledException => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(IsCancellation),
        _ => e.InnerException is { } inner && IsCancellation(inner),
    };

    /// <summary>Every verb, one line each, in the order help lists them.</summary>
    private static readonly (string Name, Func<CliContext, Command> Create)[] Verbs =
    [
        ("create", CreateCommand.Create),
        ("info", InfoCommand.Create),
        ("convert", ConvertCommand.Create),
        ("amend", AmendCommand.Create),
        ("bitmap", BitmapCommand.Create),
        ("iso", IsoCommand.Create),
        ("measure", MeasureCommand.Create),
        ("bench", BenchCommand.Create),
        ("io", IoCommand.Create),
        ("compare", CompareCommand.Create),
        ("snapshot", SnapshotCommand.Create),
        ("dd", DdCommand.Create),
        ("resize", ResizeCommand.Create),
        ("map", MapCommand.Create),
        ("check", CheckCommand.Create),
        ("rebase", RebaseCommand.Create),
        ("commit", CommitCommand.Create),
        ("nbd", NbdCommand.Create),
    ];

    /// <summary>
    /// The invoked verb's command only, when the first word names one (a verb's parsing never looks at its
    /// siblings, and building all of them is start-up time every call pays); every verb otherwise, for help and
    /// for the root's own errors.
    /// </summary>
    private static RootCommand BuildCommands(CliContext context, string? firstWord)
    {
        var root = new RootCommand("diskimg: create, inspect, check and convert raw, qcow2 and ISO 9660 disk images");
        var invoked = Array.FindIndex(Verbs, v => v.Name == firstWord);
        foreach (var (_, create) in invoked >= 0 ? Verbs.AsSpan(invoked, 1) : Verbs)
        {
            root.Subcommands.Add(create(context));
        }

        return root;
    }
}
