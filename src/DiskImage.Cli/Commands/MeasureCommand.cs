using System.CommandLine;
using System.Text.Json;
using DiskImage.Operations.Measure;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg measure [--output=human|json] [-O fmt] [-o opts] [-l snap] (--size SIZE | [-f fmt] FILE)</c>.</summary>
internal static class MeasureCommand
{
    private static readonly Option<string> s_output = new("--output") { Description = "Output format", DefaultValueFactory = _ => "human" };
    private static readonly Option<string?> s_targetFormat = new("-O") { Description = "Format of the image to be created (default raw)" };
    private static readonly Option<string[]> s_options = new("-o") { Description = "Creation options of the target, key=value[,key=value...]" };
    private static readonly Option<string?> s_snapshot = new("-l") { Description = "Measure this internal snapshot of FILE" };
    private static readonly Option<string?> s_size = new("--size") { Description = "Measure an empty image of this size" };
    private static readonly Option<string?> s_format = new("-f") { Description = "Format of FILE (probed when omitted)" };
    private static readonly Argument<string?> s_file = new("filename") { Description = "Image whose copy is measured", Arity = ArgumentArity.ZeroOrOne };

    public static Command Create(CliContext context)
    {
        s_output.AcceptOnlyFromAmong("human", "json");
        var command = new Command("measure", "Calculate the file size needed for a new image")
        {
            s_output, s_targetFormat, s_options, s_snapshot, s_size, s_format, s_file,
        };
        command.SetAction(parse =>
        {
            var sizeText = parse.GetValue(s_size);
            var options = new MeasureOptions
            {
                OutputFormat = parse.GetValue(s_targetFormat) ?? "raw",
                CreateOptions = KeyValueOptions.Parse(parse.GetValue(s_options) ?? []),
                Size = sizeText is null ? null : SizeText.Parse(sizeText, "image size"),
                SourcePath = parse.GetValue(s_file),
                SourceFormat = parse.GetValue(s_format),
                SnapshotName = parse.GetValue(s_snapshot),
            };
            var result = ImageMeasurer.Measure(options);
            if (parse.GetValue(s_output) == "json")
            {
                WriteJson(context.Out, result);
            }
            else
            {
                context.Out.WriteLine($"required size: {result.Required}");
                context.Out.WriteLine($"fully allocated size: {result.FullyAllocated}");
                if (result.Bitmaps is { } bitmaps)
                {
                    context.Out.WriteLine($"bitmaps size: {bitmaps}");
                }
            }

            return 0;
        });
        return command;
    }

    private static void WriteJson(TextWriter output, MeasureResult result)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 4 }))
        {
            json.WriteStartObject();
            if (result.Bitmaps is { } bitmaps)
            {
                json.WriteNumber("bitmaps", bitmaps);
            }

            json.WriteNumber("required", result.Required);
            json.WriteNumber("fully-allocated", result.FullyAllocated);
            json.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
