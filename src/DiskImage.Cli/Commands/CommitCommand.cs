using System.CommandLine;
using DiskImage.Operations.Commit;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg commit [-f fmt] [-b BASE] [-d] [-p] [-q] FILE</c>.</summary>
internal static class CommitCommand
{
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<string?> s_base = new("-b") { Description = "Commit into this backing image (implies -d)" };
    private static readonly Option<bool> s_keep = new("-d") { Description = "Do not empty the image after committing" };
    private static readonly Option<bool> s_progress = new("-p") { Description = "Show progress" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet mode" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };

    public static Command Create(CliContext context)
    {
        var command = new Command("commit", "Write an image's changes into its backing file") { s_format, s_base, s_keep, s_progress, s_quiet, s_file };
        command.SetAction(parse =>
        {
            var quiet = parse.GetValue(s_quiet);
            var showProgress = parse.GetValue(s_progress) && !quiet;
            ImageCommitter.Commit(new CommitOptions
            {
                Path = parse.GetValue(s_file)!,
                Format = parse.GetValue(s_format),
                Base = parse.GetValue(s_base),
                KeepOverlay = parse.GetValue(s_keep),
            }, showProgress ? new Progress<double>(f => context.Error.Write($"    ({f * 100:0.00}/100%)\r")) : null);
            if (showProgress)
            {
                context.Error.WriteLine();
            }

            if (!quiet)
            {
                context.Out.WriteLine("Image committed.");
            }

            return 0;
        });
        return command;
    }
}
