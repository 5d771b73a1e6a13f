using System.CommandLine;
using DiskImage.Operations.Commit;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg commit [--object ...] [--image-opts] [-f fmt] [-b BASE] [-d] [-p] [-q] FILE</c>.</summary>
internal sealed class CommitCommand
{
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<string?> _base = new("-b") { Description = "Commit into this backing image (implies -d)" };
    private readonly Option<bool> _keep = new("-d") { Description = "Do not empty the image after committing" };
    private readonly Option<bool> _progress = new("-p") { Description = "Show progress" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet mode" };
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new CommitCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("commit", "Write an image's changes into its backing file") { _format, _base, _keep, _progress, _quiet, _file, _object, _imageOpts };
        command.SetAction(parse =>
        {
            var quiet = parse.GetValue(_quiet);
            var showProgress = parse.GetValue(_progress) && !quiet;
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            ImageCommitter.Commit(new CommitOptions
            {
                Path = source.Path,
                Format = source.Format,
                SecretProvider = secrets.Get,
                KeySecret = source.KeySecret,
                Base = parse.GetValue(_base),
                KeepOverlay = parse.GetValue(_keep),
            }, showProgress ? new Progress<double>(f => context.Error.Write($"    ({f * 100:0.00}/100%)\r")) : null, context.Cancellation);
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
