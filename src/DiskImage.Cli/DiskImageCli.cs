using System.CommandLine;
using DiskImage.Cli.Commands;

namespace DiskImage.Cli;

/// <summary>Builds the <c>diskimg</c> command tree and runs it, turning library errors into one line and an exit code.</summary>
internal static class DiskImageCli
{
    public static int Run(string[] args) =>
        Run(args, Console.Out, Console.Error, errorIsTerminal: !Console.IsErrorRedirected);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool errorIsTerminal = false)
    {
        try
        {
            var root = BuildCommands(new CliContext(stdout, stderr) { ErrorIsTerminal = errorIsTerminal });
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                // "Unrecognized command or argument 'x'" says more than the "Required command" that comes with it.
                var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
                return ErrorReporter.ReportParseError(stderr, error.Message);
            }

            var configuration = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            return parse.Invoke(configuration);
        }
        catch (Exception e)
        {
            // Whatever went wrong, a user sees one line, never a stack trace.
            return ErrorReporter.Report(stderr, e);
        }
    }

    /// <summary>Every verb, one line each.</summary>
    private static RootCommand BuildCommands(CliContext context)
    {
        var root = new RootCommand("diskimg: create, inspect, check and convert raw, qcow2 and ISO 9660 disk images");
        root.Subcommands.Add(CreateCommand.Create(context));
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(ConvertCommand.Create(context));
        root.Subcommands.Add(AmendCommand.Create(context));
        root.Subcommands.Add(IsoCommand.Create(context));
        root.Subcommands.Add(MeasureCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(IoCommand.Create(context));
        root.Subcommands.Add(CompareCommand.Create(context));
        root.Subcommands.Add(SnapshotCommand.Create(context));
        root.Subcommands.Add(DdCommand.Create(context));
        root.Subcommands.Add(ResizeCommand.Create(context));
        root.Subcommands.Add(MapCommand.Create(context));
        root.Subcommands.Add(CheckCommand.Create(context));
        root.Subcommands.Add(RebaseCommand.Create(context));
        root.Subcommands.Add(CommitCommand.Create(context));
        root.Subcommands.Add(NbdCommand.Create(context));
        return root;
    }
}
