using System.CommandLine;
using DiskImage.Formats;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg info [-f fmt] [--output=human|json] FILE</c>.</summary>
internal static class InfoCommand
{
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };
    private static readonly Option<string[]> s_object = Secrets.ObjectOption();
    private static readonly Option<bool> s_imageOpts = Secrets.ImageOptsOption();

    public static Command Create(CliContext context)
    {
        var command = new Command("info", "Show information about an image") { s_format, s_file, s_object, s_imageOpts };
        command.SetAction(parse =>
        {
            var source = Secrets.Resolve(parse.GetValue(s_file)!, parse.GetValue(s_imageOpts), parse.GetValue(s_format), Secrets.Load(parse, s_object));
            using var image = ImageFormatRegistry.Default.Open(source.Path, source.Format, source.Apply(new ImageOpenOptions { OpenBackingChain = false }));
            var info = image.GetInfo();
            context.Out.WriteLine($"image: {info.Filename}");
            context.Out.WriteLine($"file format: {info.Format}");
            context.Out.WriteLine($"virtual size: {SizeText.ToHuman(info.VirtualSize)} ({info.VirtualSize} bytes)");
            return 0;
        });
        return command;
    }
}
