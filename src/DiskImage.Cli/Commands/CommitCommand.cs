using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Operations.Commit;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg commit [--object ...] [--image-opts] [-f fmt] [-b BASE] [-d] [-p] [-q] FILE</c>.</summary>
internal sealed class CommitCommand
{
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<string?> _base = new("-b") { Description = "Commit into this backing image (implies -d)" };
    private readonly Option<bool> _keep = new("-d") { Description = "Do not empty the image after committing" };
    private readonly Option<string?> _cache = CacheModeOption.Create("-t", "Cache mode for the images (checked, no effect)");
    private readonly Option<string?> _rateLimit = new("-r") { Description = "Rate limit in bytes per second (k, M, G suffixes)" };
    private readonly Option<bool> _progress = new("-p") { Description = "Show progress" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet mode" };
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new CommitCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("commit", "Write an image's changes into its backing file") { _format, _base, _keep, _progress, _quiet, _file, _object, _imageOpts, _cache, _rateLimit };
        command.SetAction(parse =>
        {
            var quiet = parse.GetValue(_quiet);
            var rateLimit = parse.GetValue(_rateLimit) is { } rate ? SizeText.Parse(rate, "rate limit") : 0;
            var directIo = CacheModeOption.IsDirect(CacheModeOption.Validate(parse.GetValue(_cache), source: false));
            var showProgress = parse.GetValue(_progress) && !quiet;
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            ProbedRawWarning.WriteIfProbed(context, source.Path, source.Format, imageOpts: false);
            var progress = showProgress ? new QemuProgress(context.Out, step: 1) : null;
            ImageCommitter.Commit(new CommitOptions
            {
                Path = source.Path,
                Format = source.Format,
                SecretProvider = secrets.Get,
                KeySecret = source.KeySecret,
                Base = parse.GetValue(_base),
                KeepOverlay = parse.GetValue(_keep),
                RateLimit = rateLimit,
                DirectIo = directIo,
            }, progress is null ? null : new JobProgress(progress), context.Cancellation);
            progress?.Complete();

            if (!quiet)
            {
                context.Out.WriteLine("Image committed.");
            }

            return 0;
        });
        return command;
    }
}
