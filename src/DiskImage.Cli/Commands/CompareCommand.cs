using System.CommandLine;
using System.Globalization;
using DiskImage.Operations.Compare;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg compare [-f fmt] [-F fmt] [-s] [-p] [-q] FILE1 FILE2</c>; exit codes as qemu-img's (0 same, 1 different, 2 open error, 3 allocation error, 4 read error).</summary>
internal static class CompareCommand
{
    private static readonly Option<string?> s_firstFormat = new("-f") { Description = "Format of the first image (probed when omitted)" };
    private static readonly Option<string?> s_secondFormat = new("-F") { Description = "Format of the second image (probed when omitted)" };
    private static readonly Option<bool> s_strict = new("-s") { Description = "Strict: differing sizes or allocation also count as different" };
    private static readonly Option<bool> s_progress = new("-p") { Description = "Show progress" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Print nothing; only the exit code tells" };
    private static readonly Argument<string> s_first = new("filename1") { Description = "First image" };
    private static readonly Argument<string> s_second = new("filename2") { Description = "Second image" };

    public static Command Create(CliContext context)
    {
        var command = new Command("compare", "Check whether two images have the same content")
        {
            s_firstFormat, s_secondFormat, s_strict, s_progress, s_quiet, s_first, s_second,
        };
        command.SetAction(parse =>
        {
            var options = new ImageCompareOptions
            {
                FirstPath = parse.GetValue(s_first)!,
                SecondPath = parse.GetValue(s_second)!,
                FirstFormat = parse.GetValue(s_firstFormat),
                SecondFormat = parse.GetValue(s_secondFormat),
                Strict = parse.GetValue(s_strict),
            };
            var quiet = parse.GetValue(s_quiet);
            IProgress<double>? progress = parse.GetValue(s_progress) && !quiet
                ? new PercentReporter(context.Error)
                : null;
            var result = ImageComparer.Compare(options, progress);
            if (progress is not null)
            {
                context.Error.WriteLine();
            }

            if (result.Error is not null)
            {
                context.Error.WriteLine($"diskimg: {result.Error}");
                return result.ExitCode;
            }

            if (!quiet)
            {
                Render(context.Out, result);
            }

            return result.ExitCode;
        });
        return command;
    }

    private static void Render(TextWriter output, CompareResult result)
    {
        if (result.WarnSizeMismatch)
        {
            output.WriteLine("Warning: Image size mismatch!");
        }

        output.WriteLine(result.Difference switch
        {
            CompareDifference.Content => $"Content mismatch at offset {result.Offset}!",
            CompareDifference.Size => "Strict mode: Image size mismatch!",
            CompareDifference.BlockStatus => $"Strict mode: Offset {result.Offset} block status mismatch!",
            _ => "Images are identical.",
        });
    }

    /// <summary>qemu-img's progress line, rewritten in place; synchronous so it never trails the verdict.</summary>
    private sealed class PercentReporter(TextWriter output) : IProgress<double>
    {
        public void Report(double value) => output.Write(string.Create(CultureInfo.InvariantCulture, $"    ({value:0.00}/100%)\r"));
    }
}
