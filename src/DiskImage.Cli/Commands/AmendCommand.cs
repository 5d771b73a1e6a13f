using System.CommandLine;
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
    private readonly Option<bool> _progress = new("-p") { Description = "Show progress (accepted for compatibility)" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new AmendCommand().Build(context);

    private Command Build(CliContext context)
    {
        _ = context;
        var command = new Command("amend", "Change options of an existing image (LUKS key slots)")
        {
            _format, _options, _force, _quiet, _progress, _object, _imageOpts, _file,
        };
        command.SetAction(parse =>
        {
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            ImageAmender.Run(new AmendOptions
            {
                Path = source.Path,
                Format = source.Format,
                Options = KeyValueOptions.Parse(parse.GetValue(_options) ?? []),
                Force = parse.GetValue(_force),
                SecretProvider = source.Secrets.Get,
                KeySecret = source.KeySecret,
            }, cancellationToken: context.Cancellation);
            return 0;
        });
        return command;
    }
}
