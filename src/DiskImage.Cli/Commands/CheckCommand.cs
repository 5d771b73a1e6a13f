using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DiskImage.Formats;
using DiskImage.Operations.Check;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg check [-f fmt] [-r leaks|all] [--output=human|json] [-q] FILE</c>, with qemu-img's exit codes.</summary>
internal sealed class CheckCommand
{
    private const int NotSupported = 63;

    private readonly Option<string?> _format = new("-f", "--format") { Description = "Image format (probed when omitted)" };
    private readonly Option<string?> _sourceCache = CacheModeOption.Create("-T", "Cache mode for reading the image (checked, no effect)");
    private readonly Option<string?> _repair = new("-r", "--repair") { Description = "Repair: 'leaks' frees leaked clusters, 'all' fixes errors too" };
    private readonly Option<string> _output = new("--output") { Description = "Output format", DefaultValueFactory = _ => "human" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet: print nothing but errors" };
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image (not with -r)");
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new CheckCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("check", "Check an image for consistency, optionally repairing it")
        {
            _format, _repair, _output, _quiet, _forceShare, _file, _object, _imageOpts, _sourceCache,
        };
        command.SetAction(parse => Run(context, parse));
        return command;
    }

    private int Run(CliContext context, ParseResult parse)
    {
        var repair = parse.GetValue(_repair) switch
        {
            "leaks" => CheckRepair.Leaks,
            "all" => CheckRepair.All,
            null => CheckRepair.None,
            var other => throw new UsageException($"Unknown option value for -r (expecting 'leaks' or 'all'): {other}"),
        };
        if (parse.GetValue(_output) is not ("human" or "json"))
        {
            throw new InvalidOptionException("--output must be used with human or json as argument.");
        }

        var directIo = CacheModeOption.IsDirect(CacheModeOption.Validate(parse.GetValue(_sourceCache), source: true));
        var json = parse.GetValue(_output) == "json";
        var quiet = parse.GetValue(_quiet);
        using var secrets = Secrets.Load(parse, _object);
        var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
        var openOptions = new ImageOpenOptions { OpenBackingChain = false, ReadOnly = repair == CheckRepair.None, ForRepair = repair != CheckRepair.None, ForCheck = true, ForceShare = parse.GetValue(_forceShare), DirectIo = directIo };
        if (repair != CheckRepair.None)
        {
            ProbedRawWarning.WriteIfProbed(context, parse.GetValue(_file)!, parse.GetValue(_format), parse.GetValue(_imageOpts));
        }

        using var image = ImageFormatRegistry.Default.Open(source.Path, source.Format, source.Apply(openOptions));
        if (!ImageChecker.Supports(image, repair))
        {
            context.Error.WriteLine($"{ProgramName.Value}: This image format does not support checks");
            return NotSupported;
        }

        ImageCheckResult result;
        try
        {
            result = ImageChecker.Check(image, repair, cancellationToken: context.Cancellation);
        }
        catch (CheckFailedException e)
        {
            WriteMessages(context, e.Partial);
            if (e.Error is { } error)
            {
                context.Error.WriteLine($"{ProgramName.Value}: {error}");
            }

            context.Error.WriteLine($"{ProgramName.Value}: Check failed: {e.Message}");
            return 1;
        }

        // qemu-img's standard output is block-buffered when it is not a terminal, so the second pass's error lines
        // come before the repair summary in a merged stream (as QEMU's iotests record them); the same is done here.
        var realStdout = ReferenceEquals(context.Out, Console.Out) && Console.IsOutputRedirected;
        using var output = new Io.BlockBufferedWriter(context.Out, realStdout ? Io.BlockBufferedWriter.BlockSize : 0);
        if (result.Repair is { } repaired)
        {
            WriteMessages(context, repaired);
            if (!json && !quiet)
            {
                output.Write(string.Create(CultureInfo.InvariantCulture,
                    $"The following inconsistencies were found and repaired:\n\n    {repaired.LeaksFixed} leaked clusters\n    {repaired.CorruptionsFixed} corruptions\n\nDouble checking the fixed image now...\n"));
            }
        }

        WriteMessages(context, result.Final);
        if (!quiet)
        {
            if (json)
            {
                WriteJson(output, result, source.Path);
            }
            else
            {
                WriteHuman(output, result.Final);
            }
        }

        if (result.Final.CheckErrors != 0)
        {
            context.Error.WriteLine($"{ProgramName.Value}: Check failed");
        }

        return result.ExitCode;
    }

    private static void WriteMessages(CliContext context, CheckCounts counts)
    {
        foreach (var message in counts.Messages)
        {
            context.Error.WriteLine(message);
        }

        if (counts.Messages.Omitted > 0)
        {
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"({counts.Messages.Omitted} more messages like these not shown)"));
        }
    }

    private static void WriteHuman(TextWriter output, CheckCounts check)
    {
        if (check.Corruptions == 0 && check.Leaks == 0 && check.CheckErrors == 0)
        {
            output.WriteLine("No errors were found on the image.");
        }
        else
        {
            if (check.Corruptions != 0)
            {
                output.Write($"\n{check.Corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n");
            }

            if (check.Leaks != 0)
            {
                output.Write($"\n{check.Leaks} leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n");
            }

            if (check.CheckErrors != 0)
            {
                output.Write($"\n{check.CheckErrors} internal errors have occurred during the check.\n");
            }
        }

        if (check.TotalClusters != 0 && check.AllocatedClusters != 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{check.AllocatedClusters}/{check.TotalClusters} = {check.AllocatedClusters * 100.0 / check.TotalClusters:F2}% allocated, {check.FragmentedClusters * 100.0 / check.AllocatedClusters:F2}% fragmented, {check.CompressedClusters * 100.0 / check.AllocatedClusters:F2}% compressed clusters"));
        }

        if (check.ImageEndOffset != 0)
        {
            output.WriteLine($"Image end offset: {check.ImageEndOffset}");
        }
    }

    /// <summary>qemu-img prints ImageCheck from a QDict, so the keys come in its hash-bucket order; zero counts are left out.</summary>
    private static void WriteJson(TextWriter output, ImageCheckResult result, string filename)
    {
        var check = result.Final;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 4 }))
        {
            json.WriteStartObject();
            WriteNonZero(json, "image-end-offset", check.ImageEndOffset);
            WriteNonZero(json, "compressed-clusters", check.CompressedClusters);
            WriteNonZero(json, "total-clusters", check.TotalClusters);
            WriteNonZero(json, "corruptions", check.Corruptions);
            WriteNonZero(json, "corruptions-fixed", result.CorruptionsFixed);
            json.WriteNumber("check-errors", check.CheckErrors);
            WriteNonZero(json, "leaks", check.Leaks);
            WriteNonZero(json, "leaks-fixed", result.LeaksFixed);
            WriteNonZero(json, "allocated-clusters", check.AllocatedClusters);
            json.WriteString("filename", filename);
            json.WriteString("format", result.Format);
            WriteNonZero(json, "fragmented-clusters", check.FragmentedClusters);
            json.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void WriteNonZero(Utf8JsonWriter json, string name, long value)
    {
        if (value != 0)
        {
            json.WriteNumber(name, value);
        }
    }
}
