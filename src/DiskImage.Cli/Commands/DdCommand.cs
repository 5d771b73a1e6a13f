using System.CommandLine;
using DiskImage.Operations.Dd;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg dd [-f fmt] [-O fmt] [bs=N] [count=N] [skip=N] if=INPUT of=OUTPUT</c>.</summary>
internal sealed class DdCommand
{
    private readonly Option<string?> _inputFormat = new("-f") { Description = "Input format (probed when omitted)" };
    private readonly Option<string?> _outputFormat = new("-O") { Description = "Output format (default raw)" };
    private readonly Argument<string[]> _operands = new("operands")
    {
        Description = "bs=BYTES count=BLOCKS skip=BLOCKS if=INPUT of=OUTPUT",
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new DdCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("dd", "Copy part of an image into a new image, dd style") { _inputFormat, _outputFormat, _operands };
        command.SetAction(parse =>
        {
            var options = DdOperands.Parse(parse.GetValue(_operands) ?? [], parse.GetValue(_inputFormat), parse.GetValue(_outputFormat));
            var result = ImageDd.Copy(options);
            if (result.SkippedPastEnd)
            {
                context.Error.WriteLine($"diskimg: {options.InputPath}: cannot skip to specified offset");
            }

            return 0;
        });
        return command;
    }
}
