using System.CommandLine;
using DiskImage.Cli.Commands;

namespace DiskImage.Cli;

/// <summary>Builds the <c>diskimg</c> command tree and runs it, turning library errors into one line and an exit code.</summary>
internal static class DiskImageCli
{
    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var context = new CliContext(stdout, stderr);
        var root = new RootCommand("diskimg: create, inspect, check and convert raw, qcow2 and ISO 9660 disk images");
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(IsoCommand.Create(context));
        root.Subcommands.Add(MeasureCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(IoCommand.Create(context));
        root.Subcommands.Add(CompareCommand.Create(context));
        root.Subcommands.Add(SnapshotCommand.Create(context));
        root.Subcommands.Add(DdCommand.Create(context));
        root.Subcommands.Add(ResizeCommand.Create(context));
        try
        {
            var parse = root.Parse(args);
            var configuration = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            return parse.Invoke(configuration);
        }
        catch (Exception e) when (ErrorReporter.IsReportable(e))
        {
            return ErrorReporter.Report(stderr, e);
        }
    }
}
