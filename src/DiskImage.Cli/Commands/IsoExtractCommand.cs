using System.CommandLine;
using DiskImage.Formats.Iso9660;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg iso extract IMAGE -C DIR [PATH...]</c>.</summary>
internal sealed class IsoExtractCommand
{
    private readonly Option<string> _directory = new("-C", "--directory") { Description = "Directory to extract into", Required = true };
    private readonly Argument<string> _image = new("image") { Description = "ISO image file" };
    private readonly Argument<string[]> _paths = new("path") { Description = "Paths inside the image (default: everything)", Arity = ArgumentArity.ZeroOrMore };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new IsoExtractCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("extract", "Extract files from an ISO 9660 image, restoring symlinks, modes and times") { _directory, _image, _paths };
        command.SetAction(parse =>
        {
            using var iso = IsoFileSystem.Open(parse.GetValue(_image)!);
            IsoExtractor.Extract(iso, new IsoExtractOptions
            {
                TargetDirectory = parse.GetValue(_directory)!,
                Paths = parse.GetValue(_paths) ?? [],
            }, cancellationToken: context.Cancellation);
            return 0;
        });
        return command;
    }
}
