using System.CommandLine;
using DiskImage.Operations.Amend;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg amend [--object ...] [--image-opts] [-f fmt] [--force] -o options FILE</c>.</summary>
internal static class AmendCommand
{
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<string[]> s_options = new("-o") { Description = "Options to change (e.g. encrypt.state=active,encrypt.new-secret=ID)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private static readonly Option<bool> s_force = new("--force") { Description = "Allow dangerous changes, such as erasing the last key slot" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet mode" };
    private static readonly Option<bool> s_progress = new("-p") { Description = "Show progress (accepted for compatibility)" };
    private static readonly Option<string[]> s_object = Secrets.ObjectOption();
    private static readonly Option<bool> s_imageOpts = Secrets.ImageOptsOption();
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };

    public static Command Create(CliContext context)
    {
        _ = context;
        var command = new Command("amend", "Change options of an existing image (LUKS key slots)")
        {
            s_format, s_options, s_force, s_quiet, s_progress, s_object, s_imageOpts, s_file,
        };
        command.SetAction(parse =>
        {
            var source = Secrets.Resolve(parse.GetValue(s_file)!, parse.GetValue(s_imageOpts), parse.GetValue(s_format), Secrets.Load(parse, s_object));
            ImageAmender.Run(new AmendOptions
            {
                Path = source.Path,
                Format = source.Format,
                Options = KeyValueOptions.Parse(parse.GetValue(s_options) ?? []),
                Force = parse.GetValue(s_force),
                SecretProvider = source.Secrets.Get,
                KeySecret = source.KeySecret,
            });
            return 0;
        });
        return command;
    }
}
