using System.CommandLine;

namespace DiskImage.Cli;

/// <summary>
/// Reads a qemu-img verb's arguments the way qemu-img does (GNU getopt_long: bundled short options, attached
/// values, <c>--long=value</c>, unique prefixes of long options, options after file names, <c>--</c>), so a script's
/// command line means the same here, and a mistake is reported with qemu-img's words naming the offending word.
/// The result is an unambiguous token list for System.CommandLine: options one by one, then <c>--</c> and the
/// positional arguments.
/// </summary>
internal static class QemuArguments
{
    /// <summary>The verbs qemu-img has; others (iso, nbd, io) keep their own parsing.</summary>
    private static readonly HashSet<string> Verbs =
        ["amend", "bench", "bitmap", "check", "commit", "compare", "convert", "create", "dd", "info", "map", "measure", "rebase", "resize", "snapshot"];

    /// <summary>Rewrites <paramref name="args"/> when its first word is one of qemu-img's verbs; throws <see cref="UsageException"/>.</summary>
    public static string[] Normalize(string[] args, RootCommand root)
    {
        if (args.Length == 0 || !Verbs.Contains(args[0]) || root.Subcommands.FirstOrDefault(c => c.Name == args[0]) is not { } command)
        {
            return args;
        }

        var rest = args.AsSpan(1).ToArray();
        string? resizeSize = null;
        if (args[0] == "resize")
        {
            // qemu-img takes the size off the end before reading options, so "-1G" is a size, not an option.
            if (rest.Length < 2)
            {
                throw new UsageException("Not enough arguments");
            }

            resizeSize = rest[^1];
            rest = rest[..^1];
        }

        var (options, positionals, help) = Scan(args[0], rest, command);
        if (help)
        {
            return [args[0], "--help"];
        }

        if (resizeSize is not null)
        {
            positionals.Add(resizeSize);
        }

        CheckPositionals(args[0], positionals, options);
        return [args[0], .. options, "--", .. positionals];
    }

    private static (List<string> Options, List<string> Positionals, bool Help) Scan(string verb, string[] args, Command command)
    {
        var shortOptions = new Dictionary<char, bool>();
        var longOptions = new Dictionary<string, bool>(StringComparer.Ordinal);
        var singleValued = new HashSet<string>(StringComparer.Ordinal);
        foreach (var option in command.Options)
        {
            var takesValue = option.ValueType != typeof(bool);
            foreach (var name in option.Aliases.Prepend(option.Name))
            {
                if (name.Length == 2 && name[0] == '-' && name[1] != '-')
                {
                    shortOptions[name[1]] = takesValue;
                }
                else if (name.StartsWith("--", StringComparison.Ordinal) && name.Length > 2)
                {
                    longOptions[name[2..]] = takesValue;
                }
            }

            if (takesValue && option.Arity.MaximumNumberOfValues == 1)
            {
                singleValued.Add(option.Name);
            }
        }

        shortOptions.Remove('?');
        shortOptions['h'] = false;
        longOptions["help"] = false;

        var options = new List<string>();
        var positionals = new List<string>();
        var help = false;
        var actionSeen = false;
        for (var i = 0; i < args.Length; i++)
        {
            var word = args[i];
            if (word == "--")
            {
                positionals.AddRange(args.AsSpan(i + 1));
                break;
            }

            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                var equals = word.IndexOf('=', StringComparison.Ordinal);
                var typed = equals < 0 ? word[2..] : word[2..equals];
                var name = MatchLong(typed, longOptions) ?? throw new UsageException($"unrecognized option '{word}'");
                if (name == "help")
                {
                    help = true;
                    continue;
                }

                if (!longOptions[name])
                {
                    // getopt refuses "--flag=value" for an option that takes none; qemu-img then names the word.
                    _ = equals < 0 ? 0 : throw new UsageException($"unrecognized option '{word}'");
                    options.Add("--" + name);
                    continue;
                }

                var value = equals >= 0 ? word[(equals + 1)..]
                    : i + 1 < args.Length ? args[++i] : throw new UsageException($"missing argument for option '{word}'");
                CheckAsRead(verb, name, value, ref actionSeen);
                AddWithValue(options, "--" + name, value);
                continue;
            }

            if (word.Length < 2 || word[0] != '-')
            {
                positionals.Add(word);
                continue;
            }

            for (var j = 1; j < word.Length; j++)
            {
                var letter = word[j];
                if (!shortOptions.TryGetValue(letter, out var takesValue))
                {
                    // getopt has moved past the word only when the letter ends it; qemu-img names argv[optind - 1].
                    var named = j == word.Length - 1 ? word : i > 0 ? args[i - 1] : verb;
                    throw new UsageException($"unrecognized option '{named}'");
                }

                if (letter == 'h')
                {
                    help = true;
                    continue;
                }

                if (!takesValue)
                {
                    CheckAsRead(verb, letter.ToString(), null, ref actionSeen);
                    options.Add("-" + letter);
                    continue;
                }

                var value = j + 1 < word.Length ? word[(j + 1)..]
                    : i + 1 < args.Length ? args[++i] : throw new UsageException($"missing argument for option '{word}'");
                if (letter == 'o' && OptionListVerbs.Contains(verb) && !IsValidOptionList(value))
                {
                    // qemu-img checks each -o list as its option loop reads it, before anything later on the line.
                    throw new InvalidOptionException($"Invalid option list: {value}");
                }

                CheckAsRead(verb, letter.ToString(), value, ref actionSeen);
                AddWithValue(options, "-" + letter, value);
                break;
            }
        }

        return (LastOfEachSingleOption(options, command, singleValued), positionals, help);
    }

    /// <summary>
    /// Checks qemu-img makes inside its option loop, so they win over anything later on the line: <c>--object help</c>,
    /// check's repair mode and snapshot's one action (a second <c>-l</c>/<c>-a</c>/<c>-c</c>/<c>-d</c>, even the same one, is refused).
    /// </summary>
    private static void CheckAsRead(string verb, string name, string? value, ref bool actionSeen)
    {
        if (name == "object" && value is not null && ObjectHelp.For(value) is { } help)
        {
            throw new HelpPrintedException(help);
        }

        if (verb == "check" && name is "r" or "repair" && value is not ("leaks" or "all"))
        {
            throw new UsageException($"Unknown option value for -r (expecting 'leaks' or 'all'): {value}");
        }

        if (verb == "snapshot" && name is "l" or "a" or "c" or "d")
        {
            if (actionSeen)
            {
                throw new UsageException("Cannot mix '-l', '-a', '-c', '-d'");
            }

            actionSeen = true;
        }
    }

    /// <summary>The verbs whose <c>-o</c> is an option list (bench's <c>-o</c> is an offset).</summary>
    private static readonly HashSet<string> OptionListVerbs = new(StringComparer.Ordinal) { "create", "convert", "amend", "measure" };

    /// <summary>
    /// qemu-img's option loop keeps the last value of an option given twice (<c>-f foo -f qcow2</c> means qcow2), where
    /// System.CommandLine would refuse the second; options that gather (<c>-o</c>, <c>--object</c>) keep every value.
    /// </summary>
    private static List<string> LastOfEachSingleOption(List<string> options, Command command, HashSet<string> singleValued)
    {
        var entries = new List<(string? Key, string[] Tokens)>();
        for (var i = 0; i < options.Count; i++)
        {
            var token = options[i];
            var equals = token.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? token : token[..equals];
            var option = command.Options.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));
            var key = option is not null && singleValued.Contains(option.Name) ? option.Name : null;
            var takesValue = option is not null && option.ValueType != typeof(bool);
            entries.Add(takesValue && equals < 0 && i + 1 < options.Count ? (key, [token, options[++i]]) : (key, [token]));
        }

        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Key is { } key)
            {
                last[key] = i;
            }
        }

        var kept = new List<string>(options.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Key is not { } key || last[key] == i)
            {
                kept.AddRange(entries[i].Tokens);
            }
        }

        return kept;
    }

    /// <summary>qemu-img's test of an <c>-o</c> list: not empty, not starting with a comma, no lone trailing comma.</summary>
    public static bool IsValidOptionList(string list)
    {
        if (list.Length == 0 || list[0] == ',')
        {
            return false;
        }

        var trailing = list.Length - list.TrimEnd(',').Length;
        return trailing % 2 == 0;
    }

    /// <summary>An exact long option name, or the only one the typed text begins (getopt_long's abbreviations).</summary>
    private static string? MatchLong(string typed, Dictionary<string, bool> longOptions)
    {
        if (typed.Length == 0)
        {
            return null;
        }

        if (longOptions.ContainsKey(typed))
        {
            return typed;
        }

        var candidates = longOptions.Keys.Where(k => k.StartsWith(typed, StringComparison.Ordinal)).ToList();
        return candidates.Count == 1 ? candidates[0] : null;
    }

    /// <summary>A value that starts with '-' is attached, so it is never read as an option.</summary>
    private static void AddWithValue(List<string> options, string name, string value)
    {
        if (value.StartsWith('-'))
        {
            options.Add($"{name}={value}");
        }
        else
        {
            options.Add(name);
            options.Add(value);
        }
    }

    /// <summary>qemu-img's checks of the file-name count, made right after its option loop.</summary>
    private static void CheckPositionals(string verb, List<string> positionals, List<string> options)
    {
        var count = positionals.Count;
        switch (verb)
        {
            case "bitmap":
                Commands.BitmapCommand.CheckUsage(options, count);
                break;
            case "info" or "check" or "commit" or "map" or "snapshot" or "rebase" or "bench" when count != 1:
                throw new UsageException("Expecting one image file name");
            case "compare" when count != 2:
                throw new UsageException("Expecting two image file names");
            case "resize" when count != 2:
                throw new UsageException("Expecting image file name and size");
            case "create" when count == 0 && !HasHelpOption(options):
                throw new UsageException("Expecting image file name");
            case "create" when count > 2:
                throw new UsageException($"Unexpected argument: {positionals[2]}");
            case "amend" when !options.Any(o => o == "-o" || o.StartsWith("-o=", StringComparison.Ordinal)):
                throw new UsageException("Must specify options (-o)");
            case "amend" when count > 1 && !(options.Contains("-f") && HasHelpOption(options)):
                // An error line without the "Try" hint: qemu-img reports it after it has read the options.
                throw new InvalidOptionException("Expecting one image file name");
            case "amend" when count > 1:
                // -f FMT -o help prints the format's options whatever the file names are.
                positionals.RemoveRange(1, count - 1);
                break;
        }
    }

    /// <summary>True when an <c>-o</c> list asks for help (<c>help</c> or <c>?</c> among its keys).</summary>
    public static bool HasHelpOption(IEnumerable<string> tokens)
    {
        string? previous = null;
        foreach (var token in tokens)
        {
            var list = previous == "-o" ? token : token.StartsWith("-o=", StringComparison.Ordinal) ? token[3..] : null;
            if (list is not null && Rendering.CreateOptionHelp.AsksForHelp(list))
            {
                return true;
            }

            previous = token;
        }

        return false;
    }
}

/// <summary>A command line qemu-img refuses before doing anything: its message, then the "Try ... --help" line.</summary>
internal sealed class UsageException(string message) : Exception(message);
