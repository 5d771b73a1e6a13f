using System.CommandLine;
using DiskImage.Formats;
using DiskImage.Operations.Resize;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg resize [-f fmt] [--shrink] [--preallocation=MODE] [-q] FILE [+|-]SIZE</c>.</summary>
internal static class ResizeCommand
{
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<bool> s_shrink = new("--shrink") { Description = "Allow the image to get smaller (data past the new end is lost)" };
    private static readonly Option<string> s_preallocation = new("--preallocation")
    {
        Description = "Allocation of the grown part: off, metadata (qcow2), falloc or full",
        DefaultValueFactory = _ => "off",
    };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet mode" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };
    private static readonly Argument<string> s_size = new("size") { Description = "New size, or +SIZE / -SIZE relative to the current one" };

    public static Command Create(CliContext context)
    {
        var command = new Command("resize", "Change the virtual size of an image") { s_format, s_shrink, s_preallocation, s_quiet, s_file, s_size };
        // "-SIZE" must reach the size argument rather than be taken for an option.
        command.TreatUnmatchedTokensAsErrors = true;
        command.SetAction(parse =>
        {
            var mode = parse.GetValue(s_preallocation) switch
            {
                "off" => Preallocation.Off,
                "metadata" => Preallocation.Metadata,
                "falloc" => Preallocation.Falloc,
                "full" => Preallocation.Full,
                var other => throw new InvalidOptionException($"Invalid preallocation mode: '{other}'"),
            };
            ImageResizer.Resize(new ResizeOptions
            {
                Path = parse.GetValue(s_file)!,
                Format = parse.GetValue(s_format),
                Size = parse.GetValue(s_size)!,
                Shrink = parse.GetValue(s_shrink),
                Preallocation = mode,
            });
            if (!parse.GetValue(s_quiet))
            {
                context.Out.WriteLine("Image resized.");
            }

            return 0;
        });
        return command;
    }
}
