using System.CommandLine;
using System.Text.Json;
using DiskImage.Operations.Measure;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg measure [--object ...] [--image-opts] [--output=human|json] [-O fmt] [-o opts] [-l snap] (--size SIZE | [-f fmt] FILE)</c>.</summary>
internal sealed class MeasureCommand
{
    private readonly Option<string> _output = new("--output") { Description = "Output format", DefaultValueFactory = _ => "human" };
    private readonly Option<string?> _targetFormat = new("-O") { Description = "Format of the image to be created (default raw)" };
    private readonly Option<string[]> _options = new("-o") { Description = "Creation options of the target, key=value[,key=value...]" };
    private readonly Option<string?> _snapshot = new("-l") { Description = "Measure this internal snapshot of FILE" };
    private readonly Option<string?> _size = new("--size") { Description = "Measure an empty image of this size" };
    private readonly Option<string?> _format = new("-f") { Description = "Format of FILE (probed when omitted)" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image");
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Argument<string[]> _file = new("filename") { Description = "Image whose copy is measured", Arity = ArgumentArity.ZeroOrMore };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new MeasureCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("measure", "Calculate the file size needed for a new image")
        {
            _output, _targetFormat, _options, _snapshot, _size, _format, _forceShare, _file, _object, _imageOpts,
        };
        command.SetAction(parse =>
        {
            var sizeText = parse.GetValue(_size);
            CheckOptionValues(parse, context);
            using var secrets = Secrets.Load(parse, _object);
            var files = parse.GetValue(_file) ?? [];
            if (files.Length > 1)
            {
                throw new InvalidOptionException("At most one filename argument is allowed.");
            }

            var file = files.Length == 1 ? files[0] : null;
            if (file is null && parse.GetValue(_imageOpts))
            {
                throw new InvalidOptionException("--image-opts, -f, and -l require a filename argument.");
            }

            var source = file is null ? null : Secrets.Resolve(context.ImageOptsNames, file, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            var options = new MeasureOptions
            {
                SecretProvider = secrets.Get,
                SourceKeySecret = source?.KeySecret,
                OutputFormat = parse.GetValue(_targetFormat) ?? "raw",
                CreateOptions = KeyValueOptions.Parse(parse.GetValue(_options) ?? []),
                Size = sizeText is null ? null : SizeText.ParseImageSize(sizeText),
                SourcePath = source?.Path,
                SourceFormat = source is null ? parse.GetValue(_format) : source.Format,
                SnapshotName = parse.GetValue(_snapshot),
                ForceShare = parse.GetValue(_forceShare),
            };
            MeasureResult result;
            try
            {
                result = ImageMeasurer.Measure(options, cancellationToken: context.Cancellation);
            }
            catch (InvalidOptionException e) when (IsOptionListError(e.Message, options.CreateOptions))
            {
                // qemu-img adds a line of its own when the -o list does not fit the output format's options.
                throw new InvalidOptionException($"{e.Message}\nInvalid options for file format '{options.OutputFormat}'", e);
            }

            if (parse.GetValue(_output) == "json")
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

    /// <summary>An unknown key, or a value of the wrong type, of the <c>-o</c> list (not a value the driver refused).</summary>
    private static bool IsOptionListError(string message, IReadOnlyDictionary<string, string> createOptions) =>
        createOptions.Keys.Any(key => message == $"Invalid parameter '{key}'" || message.StartsWith($"Parameter '{key}' expects ", StringComparison.Ordinal));

    /// <summary>What qemu-img refuses while it reads its options, before it looks at the filenames.</summary>
    private void CheckOptionValues(ParseResult parse, CliContext context)
    {
        if (parse.GetValue(_output) is not ("human" or "json"))
        {
            throw new InvalidOptionException("--output must be used with human or json as argument.");
        }

        foreach (var list in parse.GetValue(_options) ?? [])
        {
            if (!QemuArguments.IsValidOptionList(list))
            {
                throw new InvalidOptionException($"Invalid option list: {list}");
            }
        }

        if (parse.GetValue(_snapshot) is { } snapshot && snapshot.StartsWith("snapshot.", StringComparison.Ordinal))
        {
            try
            {
                Formats.Qcow2.Qcow2SnapshotSelector.Parse(snapshot);
            }
            catch (InvalidOptionException e)
            {
                context.Error.WriteLine($"{ProgramName.Value}: {e.Message}");
                throw new InvalidOptionException($"Failed in parsing snapshot param '{snapshot}'", e);
            }
        }
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
