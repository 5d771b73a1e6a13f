using System.CommandLine;
using DiskImage.Operations.Dd;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg dd [--object ...] [--image-opts] [-f fmt] [-O fmt] [bs=N] [count=N] [skip=N] if=INPUT of=OUTPUT</c>.</summary>
internal sealed class DdCommand
{
    private readonly Option<string?> _inputFormat = new("-f") { Description = "Input format (probed when omitted)" };
    private readonly Option<string?> _outputFormat = new("-O") { Description = "Output format (default raw)" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the input");
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Argument<string[]> _operands = new("operands")
    {
        Description = "bs=BYTES count=BLOCKS skip=BLOCKS if=INPUT of=OUTPUT",
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new DdCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("dd", "Copy part of an image into a new image, dd style") { _inputFormat, _outputFormat, _forceShare, _operands, _object, _imageOpts };
        command.SetAction(parse =>
        {
            var parsed = DdOperands.Parse(parse.GetValue(_operands) ?? [], parse.GetValue(_inputFormat), parse.GetValue(_outputFormat));
            // Empty names, refused as QEMU's file driver refuses them (the input is opened first).
            _ = parsed.InputPath.Length == 0 ? throw new InvalidOptionException("Could not open '': The 'file' block driver requires a file name") : 0;
            _ = parsed.OutputPath.Length == 0 ? throw new InvalidOptionException(": error while creating output image: Could not create '': No such file or directory") : 0;
            using var secrets = Secrets.Load(parse, _object);

            // --image-opts applies to the input only, as in qemu-img; the output is always a plain new image.
            var input = Secrets.Resolve(context.ImageOptsNames, parsed.InputPath, parse.GetValue(_imageOpts), parsed.InputFormat, secrets);
            var options = parsed with { InputPath = input.Path, InputFormat = input.Format, SecretProvider = secrets.Get, InputKeySecret = input.KeySecret, ForceShare = parse.GetValue(_forceShare) };
            var result = ImageDd.Copy(options, cancellationToken: context.Cancellation);
            if (result.SkippedPastEnd)
            {
                context.Error.WriteLine($"{ProgramName.Value}: {options.InputPath}: cannot skip to specified offset");
            }

            return 0;
        });
        return command;
    }
}
