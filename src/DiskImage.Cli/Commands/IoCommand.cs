using System.CommandLine;
using DiskImage.Operations.Io;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg io -c CMD [-c CMD...] [-f fmt] [-r] FILE</c>: qemu-io's scripting commands.</summary>
internal static class IoCommand
{
    private static readonly Option<string[]> s_commands = new("-c") { Description = "A qemu-io command (read, write, discard, flush, info, length); repeatable" };
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<bool> s_readOnly = new("-r") { Description = "Open the image read-only" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };
    private static readonly Option<string[]> s_object = Secrets.ObjectOption();
    private static readonly Option<bool> s_imageOpts = Secrets.ImageOptsOption();

    public static Command Create(CliContext context)
    {
        var command = new Command("io", "Run qemu-io style commands against an image") { s_commands, s_format, s_readOnly, s_file, s_object, s_imageOpts };
        command.SetAction(parse =>
        {
            var source = Secrets.Resolve(parse.GetValue(s_file)!, parse.GetValue(s_imageOpts), parse.GetValue(s_format), Secrets.Load(parse, s_object));
            var options = new IoOptions
            {
                Path = source.Path,
                Format = source.Format,
                SecretProvider = source.Secrets.Get,
                KeySecret = source.KeySecret,
                ReadOnly = parse.GetValue(s_readOnly),
                Commands = parse.GetValue(s_commands) ?? [],
            };
            var ok = ImageIo.Run(options, outcome =>
            {
                foreach (var line in outcome.Output)
                {
                    context.Out.WriteLine(line);
                }

                if (outcome.Error is not null)
                {
                    context.Error.WriteLine($"diskimg: {outcome.Error}");
                }
            });
            return ok ? 0 : 1;
        });
        return command;
    }
}
