using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Operations.Rebase;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg rebase [--object ...] [--image-opts] [-f fmt] -b NEWBASE -F FMT [-u] [-p] [-q] FILE</c>.</summary>
internal sealed class RebaseCommand
{
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<string?> _backing = new("-b") { Description = "New backing file (\"\" for none; with -u, leaving -b out also removes it)" };
    private readonly Option<string?> _backingFormat = new("-F") { Description = "Format of the new backing file" };
    private readonly Option<bool> _unsafe = new("-u") { Description = "Unsafe: only rewrite the header, copy nothing" };
    private readonly Option<string?> _cache = CacheModeOption.Create("-t", "Cache mode for the image (checked, no effect)");
    private readonly Option<string?> _sourceCache = CacheModeOption.Create("-T", "Cache mode for the backing files (checked, no effect)");
    private readonly Option<bool> _progress = new("-p") { Description = "Show progress" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet mode" };
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the new backing file");
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new RebaseCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("rebase", "Change the backing file of an image") { _format, _backing, _backingFormat, _unsafe, _progress, _quiet, _forceShare, _file, _object, _imageOpts, _cache, _sourceCache };
        command.SetAction(parse =>
        {
            // qemu-img: a safe rebase needs a target; an unsafe one without -b drops the backing file.
            var backing = parse.GetValue(_backing) ?? (parse.GetValue(_unsafe) ? "" : throw new UsageException("Must specify backing file (-b) or use unsafe mode (-u)"));
            var showProgress = parse.GetValue(_progress) && !parse.GetValue(_quiet);
            var directIo = CacheModeOption.IsDirect(CacheModeOption.Validate(parse.GetValue(_cache), source: false));
            var backingDirectIo = CacheModeOption.IsDirect(CacheModeOption.Validate(parse.GetValue(_sourceCache), source: true));
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            ProbedRawWarning.WriteIfProbed(context, source.Path, source.Format, imageOpts: false);
            var progress = showProgress ? new QemuProgress(context.Out, step: 2) : null;
            ImageRebaser.Rebase(new RebaseOptions
            {
                Path = source.Path,
                Format = source.Format,
                SecretProvider = secrets.Get,
                KeySecret = source.KeySecret,
                BackingFile = backing,
                BackingFormat = parse.GetValue(_backingFormat),
                Unsafe = parse.GetValue(_unsafe),
                ForceShare = parse.GetValue(_forceShare),
                DirectIo = directIo,
                BackingDirectIo = backingDirectIo,
            }, progress is null ? null : new PieceProgress(progress), context.Cancellation);
            progress?.Complete();

            return 0;
        });
        return command;
    }
}
