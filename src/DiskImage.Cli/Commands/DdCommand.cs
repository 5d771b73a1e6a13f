using System.CommandLine;
using DiskImage.Operations.Dd;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg dd [-f fmt] [-O fmt] [bs=N] [count=N] [skip=N] if=INPUT of=OUTPUT</c>.</summary>
internal static class DdCommand
{
    private static readonly Option<string?> s_inputFormat = new("-f") { Description = "Input format (probed when omitted)" };
    private static readonly Option<string?> s_outputFormat = new("-O") { Description = "Output format (default raw)" };
    private static readonly Argument<string[]> s_operands = new("operands")
    {
        Description = "bs=BYTES count=BLOCKS skip=BLOCKS if=INPUT of=OUTPUT",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Command Create(CliContext context)
    {
        var command = new Command("dd", "Copy part of an image into a new image, dd style") { s_inputFormat, s_outputFormat, s_operands };
        command.SetAction(parse =>
        {
            var options = DdOperands.Parse(parse.GetValue(s_operands) ?? [], parse.GetValue(s_inputFormat), parse.GetValue(s_outputFormat));
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
