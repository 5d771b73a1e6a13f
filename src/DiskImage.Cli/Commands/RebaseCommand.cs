using System.CommandLine;
using DiskImage.Operations.Rebase;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg rebase [-f fmt] -b NEWBASE -F FMT [-u] [-p] [-q] FILE</c>.</summary>
internal static class RebaseCommand
{
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<string> s_backing = new("-b") { Description = "New backing file (\"\" for none)", Required = true };
    private static readonly Option<string?> s_backingFormat = new("-F") { Description = "Format of the new backing file" };
    private static readonly Option<bool> s_unsafe = new("-u") { Description = "Unsafe: only rewrite the header, copy nothing" };
    private static readonly Option<bool> s_progress = new("-p") { Description = "Show progress" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet mode" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };

    public static Command Create(CliContext context)
    {
        var command = new Command("rebase", "Change the backing file of an image") { s_format, s_backing, s_backingFormat, s_unsafe, s_progress, s_quiet, s_file };
        command.SetAction(parse =>
        {
            var showProgress = parse.GetValue(s_progress) && !parse.GetValue(s_quiet);
            ImageRebaser.Rebase(new RebaseOptions
            {
                Path = parse.GetValue(s_file)!,
                Format = parse.GetValue(s_format),
                BackingFile = parse.GetValue(s_backing)!,
                BackingFormat = parse.GetValue(s_backingFormat),
                Unsafe = parse.GetValue(s_unsafe),
            }, showProgress ? new Progress<double>(f => context.Error.Write($"    ({f * 100:0.00}/100%)\r")) : null);
            if (showProgress)
            {
                context.Error.WriteLine();
            }

            return 0;
        });
        return command;
    }
}
