using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Operations.Amend;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg amend [--object ...] [--image-opts] [-f fmt] [--force] -o options FILE</c>.</summary>
internal sealed class AmendCommand
{
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<string[]> _options = new("-o") { Description = "Options to change (e.g. encrypt.state=active,encrypt.new-secret=ID)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<bool> _force = new("--force") { Description = "Allow dangerous changes, such as erasing the last key slot" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet mode" };
    private readonly Option<bool> _progress = new("-p") { Description = "Show progress" };
    private readonly Option<string?> _cache = CacheModeOption.Create("-t", "Cache mode for the image (checked, no effect)");
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Argument<string?> _file = new("filename") { Description = "Image file", Arity = ArgumentArity.ZeroOrOne };

    /// <summary>The named image's format, for <c>-o help</c> without <c>-f</c> (qemu-img opens the image to learn it).</summary>
    private string? ProbedFormat(ParseResult parse) =>
        parse.GetValue(_file) is { } path && !parse.GetValue(_imageOpts) ? DiskImage.Formats.ImageFormatRegistry.Default.Probe(path).Name : null;

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new AmendCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("amend", "Change options of an existing image (LUKS key slots)")
        {
            _format, _options, _force, _quiet, _progress, _object, _imageOpts, _file, _cache,
        };
        command.SetAction(parse =>
        {
            var format = parse.GetValue(_format);
            if (CreateOptionHelp.AsksForHelp(parse.GetValue(_options) ?? []) && (format ?? ProbedFormat(parse)) is { } helpFormat)
            {
                return CreateOptionHelp.PrintAmend(context, helpFormat);
            }

            if (parse.GetValue(_file) is null)
            {
                throw new InvalidOptionException("Expecting one image file name");
            }

            var directIo = CacheModeOption.IsDirect(CacheModeOption.Validate(parse.GetValue(_cache), source: false));
            using var secrets = Secrets.Load(parse, _object);
            var progress = parse.GetValue(_progress) && !parse.GetValue(_quiet) ? new QemuProgress(context.Out, step: 1) : null;
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            ProbedRawWarning.WriteIfProbed(context, parse.GetValue(_file)!, format, parse.GetValue(_imageOpts));
            ImageAmender.Run(new AmendOptions
            {
                Path = source.Path,
                Format = source.Format,
                Options = KeyValueOptions.Parse(parse.GetValue(_options) ?? []),
                Force = parse.GetValue(_force),
                SecretProvider = source.Secrets.Get,
                KeySecret = source.KeySecret,
                RepairReport = context.Error.WriteLine,
                DirectIo = directIo,
            }, progress is null ? null : new AmendProgress(progress), cancellationToken: context.Cancellation);
            progress?.Complete();
            return 0;
        });
        return command;
    }
}
