using System.CommandLine;
using DiskImage.Formats.Iso9660;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg iso extract IMAGE -C DIR [PATH...]</c>.</summary>
internal static class IsoExtractCommand
{
    private static readonly Option<string> s_directory = new("-C", "--directory") { Description = "Directory to extract into", Required = true };
    private static readonly Argument<string> s_image = new("image") { Description = "ISO image file" };
    private static readonly Argument<string[]> s_paths = new("path") { Description = "Paths inside the image (default: everything)", Arity = ArgumentArity.ZeroOrMore };

    public static Command Create(CliContext context)
    {
        var command = new Command("extract", "Extract files from an ISO 9660 image, restoring symlinks, modes and times") { s_directory, s_image, s_paths };
        command.SetAction(parse =>
        {
            using var iso = IsoFileSystem.Open(parse.GetValue(s_image)!);
            IsoExtractor.Extract(iso, new IsoExtractOptions
            {
                TargetDirectory = parse.GetValue(s_directory)!,
                Paths = parse.GetValue(s_paths) ?? [],
            });
            return 0;
        });
        return command;
    }
}
