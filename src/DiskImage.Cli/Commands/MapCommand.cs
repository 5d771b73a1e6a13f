using System.CommandLine;
using System.Globalization;
using DiskImage.Cli.Rendering;
using DiskImage.Formats;
using DiskImage.Operations.Map;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg map [-f fmt] [--output=human|json|svg|html] [--start-offset=N] [--max-length=N] FILE</c>.</summary>
internal sealed class MapCommand
{
    private readonly Option<string?> _format = new("-f", "--format") { Description = "Image format (probed when omitted)" };
    private readonly Option<string> _output = new("--output") { Description = "Output format", DefaultValueFactory = _ => "human" };
    private readonly Option<string?> _startOffset = new("--start-offset", "-s") { Description = "First guest offset to describe" };
    private readonly Option<string?> _maxLength = new("--max-length", "-l") { Description = "Describe at most this many bytes" };
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image");
    private readonly Option<bool> _untrusted = UntrustedOption.Create();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new MapCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("map", "Show how the image's guest bytes map to files of its backing chain")
        {
            _format, _output, _startOffset, _maxLength, _forceShare, _file, _object, _imageOpts, _untrusted,
        };
        command.SetAction(parse =>
        {
            var output = parse.GetValue(_output);
            if (output is not ("human" or "json" or "svg" or "html"))
            {
                // svg and html are this tool's own pictures; anything else is refused in qemu-img's words.
                throw new InvalidOptionException("--output must be used with human or json as argument.");
            }

            var options = new MapOptions
            {
                StartOffset = ParseOffset(parse.GetValue(_startOffset), "start offset") ?? 0,
                MaxLength = ParseOffset(parse.GetValue(_maxLength), "max length"),
            };
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            using var image = ImageFormatRegistry.Default.Open(source.Path, source.Format, source.Apply(new ImageOpenOptions { Untrusted = parse.GetValue(_untrusted), ForceShare = parse.GetValue(_forceShare) }));
            if (!ImageMapper.HasMedium(image))
            {
                // qemu-img has printed its header (or the list's opening bracket) before it asks for the size.
                if (output == "human")
                {
                    context.Out.WriteLine($"{"Offset",-16}{"Length",-16}{"Mapped to",-16}File");
                }
                else if (output == "json")
                {
                    context.Out.Write('[');
                }

                context.Error.WriteLine($"{ProgramName.Value}: Failed to get size for '{parse.GetValue(_file)}'");
                return 1;
            }

            if (output is "svg" or "html")
            {
                // The picture always covers the whole image: it is bucketed, so it stays small whatever the size.
                var map = AllocationMap.Build(image);
                var name = Path.GetFileName(source.Path);
                if (output == "svg")
                {
                    AllocationMapPicture.WriteSvg(context.Out, map, name);
                }
                else
                {
                    AllocationMapPicture.WriteHtml(context.Out, map, name);
                }

                return 0;
            }

            IReadOnlyList<MapEntry> entries;
            try
            {
                entries = ImageMapper.Map(image, options);
            }
            catch (IOException e) when (e.HResult > 0)
            {
                // A node without block status (snapshot-access over a file): qemu-img has printed its header by then.
                context.Out.Write(output == "json" ? "[" : $"{"Offset",-16}{"Length",-16}{"Mapped to",-16}File\n");
                throw new ImageAccessException($"Could not read file metadata: {e.Message}", e);
            }

            return output == "json" ? WriteJson(context.Out, entries) : WriteHuman(context, entries);
        });
        return command;
    }

    private static long? ParseOffset(string? text, string what)
    {
        if (text is null)
        {
            return null;
        }

        return SizeText.ParseBounded(text, what);
    }

    /// <summary>qemu-img's own one-entry-per-line JSON list (not a generic serializer's layout).</summary>
    private static int WriteJson(TextWriter output, IReadOnlyList<MapEntry> entries)
    {
        output.Write('[');
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            output.Write(string.Create(CultureInfo.InvariantCulture,
                $"{{ \"start\": {e.Start}, \"length\": {e.Length}, \"depth\": {e.Depth}, \"present\": {Bool(e.Present)}, \"zero\": {Bool(e.Zero)}, \"data\": {Bool(e.Data)}"));
            if (e.Offset is { } offset)
            {
                output.Write(string.Create(CultureInfo.InvariantCulture, $", \"offset\": {offset}"));
            }

            output.Write('}');
            if (i + 1 < entries.Count)
            {
                output.WriteLine(',');
            }
        }

        output.WriteLine(']');
        return 0;
    }

    /// <summary>Rows for runs holding data in a file; compressed or encrypted data has no such place, which qemu-img refuses.</summary>
    private static int WriteHuman(CliContext context, IReadOnlyList<MapEntry> entries)
    {
        context.Out.WriteLine($"{"Offset",-16}{"Length",-16}{"Mapped to",-16}File");
        for (var i = 0; i < entries.Count; i++)
        {
            // qemu-img turns a run that reads as zero into a plain zero run before looking at it, except the first.
            var e = entries[i];
            if (e.Data && e.Offset is null && (!e.Zero || i == 0))
            {
                context.Error.WriteLine($"{ProgramName.Value}: File contains external, encrypted or compressed clusters.");
                return 1;
            }

            if (e.Data && !e.Zero)
            {
                context.Out.WriteLine($"{Hex(e.Start),-16}{Hex(e.Length),-16}{Hex(e.Offset ?? 0),-16}{e.Filename}");
            }
        }

        return 0;
    }

    private static string Hex(long value) => value == 0 ? "0" : "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Bool(bool value) => value ? "true" : "false";
}
