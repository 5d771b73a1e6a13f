using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Operations.Compare;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg compare [--object ...] [--image-opts] [-f fmt] [-F fmt] [-s] [-p] [-q] FILE1 FILE2</c>; exit codes as qemu-img's (0 same, 1 different, 2 open error, 3 allocation error, 4 read error).</summary>
internal sealed class CompareCommand
{
    private readonly Option<string?> _firstFormat = new("-f") { Description = "Format of the first image (probed when omitted)" };
    private readonly Option<string?> _secondFormat = new("-F") { Description = "Format of the second image (probed when omitted)" };
    private readonly Option<bool> _strict = new("-s") { Description = "Strict: differing sizes or allocation also count as different" };
    private readonly Option<string?> _sourceCache = CacheModeOption.Create("-T", "Cache mode for reading the images (checked, no effect)");
    private readonly Option<bool> _progress = new("-p") { Description = "Show progress" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Print nothing; only the exit code tells" };
    private readonly Argument<string> _first = new("filename1") { Description = "First image" };
    private readonly Argument<string> _second = new("filename2") { Description = "Second image" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("both images");
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new CompareCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("compare", "Check whether two images have the same content")
        {
            _firstFormat, _secondFormat, _strict, _progress, _quiet, _forceShare, _first, _second, _object, _imageOpts, _sourceCache,
        };
        command.SetAction(parse =>
        {
            // As in qemu-img, --image-opts makes both file names option lists.
            bool directIo;
            try
            {
                directIo = CacheModeOption.IsDirect(CacheModeOption.Validate(parse.GetValue(_sourceCache), source: true));
            }
            catch (InvalidOptionException e)
            {
                // compare's errors exit with 2, as qemu-img compare's do.
                context.Error.WriteLine($"{ProgramName.Value}: {e.Message}");
                return 2;
            }
            using var secrets = Secrets.Load(parse, _object);
            var imageOpts = parse.GetValue(_imageOpts);
            ImageSource first, second;
            try
            {
                first = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_first)!, imageOpts, parse.GetValue(_firstFormat), secrets);
                second = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_second)!, imageOpts, parse.GetValue(_secondFormat), secrets);
            }
            catch (InvalidOptionException e)
            {
                context.Error.WriteLine($"{ProgramName.Value}: {e.Message}");
                return 2;
            }

            var options = new ImageCompareOptions
            {
                FirstPath = first.Path,
                SecondPath = second.Path,
                FirstFormat = first.Format,
                SecondFormat = second.Format,
                Strict = parse.GetValue(_strict),
                ForceShare = parse.GetValue(_forceShare),
                DirectIo = directIo,
                SecretProvider = secrets.Get,
                FirstKeySecret = first.KeySecret,
                SecondKeySecret = second.KeySecret,
            };
            var quiet = parse.GetValue(_quiet);
            var progress = parse.GetValue(_progress) && !quiet ? new QemuProgress(context.Out, step: 2) : null;
            var result = ImageComparer.Compare(options, progress, cancellationToken: context.Cancellation);
            if (result.Error is not null)
            {
                context.Error.WriteLine($"{ProgramName.Value}: {result.Error}");
                if (result.ErrorHint is not null)
                {
                    context.Error.WriteLine(result.ErrorHint);
                }

                if (result.WarnSizeMismatch && !quiet)
                {
                    // qemu-img printed the warning before reading the larger image's rest (on stdout, which reaches a pipe last).
                    context.Out.WriteLine("Warning: Image size mismatch!");
                }

                progress?.End();
                return result.ExitCode;
            }

            if (!quiet)
            {
                Render(context.Out, result);
            }

            // qemu-img ends its progress line after the verdict.
            progress?.End();

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
}
