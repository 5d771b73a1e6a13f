using System.CommandLine;
using DiskImage.Operations.Bitmaps;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg bitmap (--merge SOURCE | --add | --remove | --clear | --enable | --disable)... [-b SOURCE_FILE [-F SOURCE_FMT]]
/// [-g GRANULARITY] [--object ...] [--image-opts | -f FMT] FILENAME BITMAP</c>: the operations in the order given.
/// </summary>
internal sealed class BitmapCommand
{
    private static readonly Dictionary<string, BitmapAction> s_flags = new(StringComparer.Ordinal)
    {
        ["--add"] = BitmapAction.Add,
        ["--remove"] = BitmapAction.Remove,
        ["--clear"] = BitmapAction.Clear,
        ["--enable"] = BitmapAction.Enable,
        ["--disable"] = BitmapAction.Disable,
    };

    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<bool> _add = Flag("--add", "Add a new enabled persistent bitmap");
    private readonly Option<bool> _remove = Flag("--remove", "Remove the bitmap and free its clusters");
    private readonly Option<bool> _clear = Flag("--clear", "Mark every granule of the bitmap clean");
    private readonly Option<bool> _enable = Flag("--enable", "Make the bitmap track writes");
    private readonly Option<bool> _disable = Flag("--disable", "Stop the bitmap tracking writes");
    private readonly Option<string[]> _merge = new("--merge") { Description = "Merge bitmap SOURCE into the bitmap", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<string?> _granularity = new("-g", "--granularity") { Description = "Granularity of an added bitmap (bytes per bit)" };
    private readonly Option<string?> _sourceFile = new("-b", "--source-file") { Description = "Image the merge source bitmap is in" };
    private readonly Option<string?> _sourceFormat = new("-F", "--source-format") { Description = "Format of the merge source image" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Argument<string> _bitmap = new("bitmap") { Description = "Bitmap name" };

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new BitmapCommand().Build(context);

    /// <summary>
    /// qemu-img's checks right after its option loop, in its order (the option words are already normalised):
    /// an unreadable granularity, no operation, misplaced -g/-F/-b, then the file-name count.
    /// </summary>
    public static void CheckUsage(List<string> options, int positionals)
    {
        var granularity = ValueOf(options, "-g");
        var add = options.Contains("--add");
        var granularityValue = granularity is null ? 0 : SizeText.Parse(granularity, "granularity");

        if (!options.Any(o => s_flags.ContainsKey(o) || IsMerge(o)))
        {
            throw new InvalidOptionException("Need at least one of --add, --remove, --clear, --enable, --disable, or --merge");
        }

        if (granularityValue != 0 && !add)
        {
            throw new InvalidOptionException("granularity only supported with --add");
        }

        if (ValueOf(options, "-F") is not null && ValueOf(options, "-b") is null)
        {
            throw new InvalidOptionException("-F only supported with -b");
        }

        if (ValueOf(options, "-b") is not null && !options.Any(IsMerge))
        {
            throw new InvalidOptionException("Merge bitmap source file only supported with --merge");
        }

        if (positionals != 2)
        {
            throw new InvalidOptionException("Expecting filename and bitmap name");
        }
    }

    private static bool IsMerge(string option) => option == "--merge" || option.StartsWith("--merge=", StringComparison.Ordinal);

    /// <summary>The last value of a short option in a normalised list (<c>-g VALUE</c> or <c>-g=VALUE</c>); the long spelling is folded in.</summary>
    private static string? ValueOf(List<string> options, string name)
    {
        var longName = name switch { "-g" => "--granularity", "-b" => "--source-file", _ => "--source-format" };
        string? value = null;
        for (var i = 0; i < options.Count; i++)
        {
            if ((options[i] == name || options[i] == longName) && i + 1 < options.Count)
            {
                value = options[++i];
            }
            else if (options[i].StartsWith(name + "=", StringComparison.Ordinal) || options[i].StartsWith(longName + "=", StringComparison.Ordinal))
            {
                value = options[i][(options[i].IndexOf('=', StringComparison.Ordinal) + 1)..];
            }
        }

        return value;
    }

    /// <summary>The operations in command-line order (System.CommandLine keeps each option's values, not their interleaving).</summary>
    private static List<BitmapStep> Steps(ParseResult parse)
    {
        var steps = new List<BitmapStep>();
        var tokens = parse.Tokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var word = tokens[i].Value;
            if (word == "--")
            {
                break;
            }

            if (s_flags.TryGetValue(word, out var action))
            {
                steps.Add(new BitmapStep(action));
            }
            else if (word == "--merge" && i + 1 < tokens.Count)
            {
                steps.Add(new BitmapStep(BitmapAction.Merge, tokens[++i].Value));
            }
            else if (word.StartsWith("--merge=", StringComparison.Ordinal))
            {
                steps.Add(new BitmapStep(BitmapAction.Merge, word["--merge=".Length..]));
            }
        }

        return steps;
    }

    private Command Build(CliContext context)
    {
        var command = new Command("bitmap", "Add, remove, clear, enable, disable or merge persistent dirty bitmaps")
        {
            _format, _add, _remove, _clear, _enable, _disable, _merge, _granularity, _sourceFile, _sourceFormat, _object, _imageOpts, _file, _bitmap,
        };
        command.SetAction(parse =>
        {
            // qemu-img keeps the granularity as a 32-bit number: 4G reads as 0, which is not a power of two.
            var granularityText = parse.GetValue(_granularity);
            var granularity = granularityText is null ? 0L : SizeText.Parse(granularityText, "granularity");
            if (granularity != 0)
            {
                granularity = (uint)granularity;
                granularity = granularity == 0 ? -1 : granularity;
            }

            using var secrets = Secrets.Load(parse, _object);
            var target = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            ProbedRawWarning.WriteIfProbed(context, parse.GetValue(_file)!, parse.GetValue(_format), parse.GetValue(_imageOpts));
            ImageBitmaps.Run(new BitmapOptions
            {
                Path = target.Path,
                Format = target.Format,
                Bitmap = parse.GetValue(_bitmap)!,
                Steps = Steps(parse),
                Granularity = granularity,
                SourcePath = parse.GetValue(_sourceFile),
                SourceFormat = parse.GetValue(_sourceFormat),
                SecretProvider = secrets.Get,
                KeySecret = target.KeySecret,
            }, context.Cancellation);
            return 0;
        });
        return command;
    }
}
