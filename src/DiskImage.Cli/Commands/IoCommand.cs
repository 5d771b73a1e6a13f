using System.CommandLine;
using DiskImage.Operations.Io;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg io -c CMD [-c CMD...] [-f fmt] [-r] FILE</c>: qemu-io's scripting commands.</summary>
internal sealed class IoCommand
{
    private readonly Option<string[]> _commands = new("-c") { Description = "A qemu-io command (read, write, discard, flush, info, length, sleep); repeatable" };
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<bool> _readOnly = new("-r") { Description = "Open the image read-only" };
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image (with -r)");
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new IoCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("io", "Run qemu-io style commands against an image") { _commands, _format, _readOnly, _forceShare, _file, _object, _imageOpts };
        command.SetAction(parse =>
        {
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            var options = new IoOptions
            {
                Path = source.Path,
                Format = source.Format,
                SecretProvider = source.Secrets.Get,
                KeySecret = source.KeySecret,
                ReadOnly = parse.GetValue(_readOnly),
                ForceShare = parse.GetValue(_forceShare),
                Commands = parse.GetValue(_commands) ?? [],
            };
            // Without -c, qemu-io reads commands from standard input, prompting for each line.
            var commands = options.Commands.Count > 0 ? options.Commands : PromptedLines(context.Out, Console.In);
            var ok = ImageIo.Run(options, commands, outcome =>
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

    /// <summary>Lines of <paramref name="input"/>, each requested after qemu-io's prompt (left standing at the end).</summary>
    private static IEnumerable<string> PromptedLines(TextWriter output, TextReader input)
    {
        while (true)
        {
            output.Write("qemu-io> ");
            output.Flush();
            var line = input.ReadLine();
            if (line is null)
            {
                yield break;
            }

            yield return line;
        }
    }
}
