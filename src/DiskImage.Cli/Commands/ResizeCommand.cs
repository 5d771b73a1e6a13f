using System.CommandLine;
using DiskImage.Formats;
using DiskImage.Operations.Resize;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg resize [--object ...] [--image-opts] [-f fmt] [--shrink] [--preallocation=MODE] [-q] FILE [+|-]SIZE</c>.</summary>
internal sealed class ResizeCommand
{
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<bool> _shrink = new("--shrink") { Description = "Allow the image to get smaller (data past the new end is lost)" };
    private readonly Option<string> _preallocation = new("--preallocation")
    {
        Description = "Allocation of the grown part: off, metadata (qcow2), falloc or full",
        DefaultValueFactory = _ => "off",
    };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet mode" };
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Argument<string> _size = new("size") { Description = "New size, or +SIZE / -SIZE relative to the current one" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new ResizeCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("resize", "Change the virtual size of an image") { _format, _shrink, _preallocation, _quiet, _file, _size, _object, _imageOpts };
        // "-SIZE" must reach the size argument rather than be taken for an option.
        command.TreatUnmatchedTokensAsErrors = true;
        command.SetAction(parse =>
        {
            var mode = parse.GetValue(_preallocation) switch
            {
                "off" => Preallocation.Off,
                "metadata" => Preallocation.Metadata,
                "falloc" => Preallocation.Falloc,
                "full" => Preallocation.Full,
                var other => throw new InvalidOptionException($"Invalid preallocation mode '{other}'"),
            };
            // qemu-img reads the size before it opens the image.
            ImageResizer.CheckSizeSyntax(parse.GetValue(_size)!);
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            ProbedRawWarning.WriteIfProbed(context, parse.GetValue(_file)!, parse.GetValue(_format), parse.GetValue(_imageOpts));
            ImageResizer.Resize(new ResizeOptions
            {
                Path = source.Path,
                Format = source.Format,
                SecretProvider = secrets.Get,
                KeySecret = source.KeySecret,
                Size = parse.GetValue(_size)!,
                Shrink = parse.GetValue(_shrink),
                Preallocation = mode,
            });
            if (!parse.GetValue(_quiet))
            {
                context.Out.WriteLine("Image resized.");
            }

            return 0;
        });
        return command;
    }
}
