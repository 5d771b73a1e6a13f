namespace DiskImage.Cli.Commands.Io;

/// <summary>
/// Reads <c>diskimg io</c>'s arguments as qemu-io's option loop reads them (GNU getopt_long: bundled letters,
/// attached values, <c>--name=value</c>, unique prefixes of long names, options after the file name, <c>--</c>),
/// acting on each option where qemu-io does: a bad cache, discard or aio mode, <c>-V</c> and <c>-h</c> end the run
/// at that option, as does an <c>--object</c> that defines nothing (or asks for help); trace patterns are warned about as they come; a mistake is reported in getopt's words. The
/// result is an unambiguous token list for System.CommandLine: options one by one, then <c>--</c> and the file.
/// </summary>
internal static class IoCommandLine
{
    /// <summary>Short options: the letter and whether it takes a value.</summary>
    private static readonly Dictionary<char, bool> ShortOptions = new()
    {
        ['h'] = false, ['V'] = false, ['c'] = true, ['d'] = true, ['f'] = true, ['r'] = false, ['s'] = false, ['n'] = false,
        ['C'] = false, ['m'] = false, ['k'] = false, ['i'] = true, ['t'] = true, ['T'] = true, ['U'] = false,
    };

    /// <summary>Long options in qemu-io's table order (which getopt lists ambiguous matches in), with their short letter.</summary>
    private static readonly (string Name, bool TakesValue, string Token)[] LongOptions =
    [
        ("help", false, "-h"), ("version", false, "-V"), ("cmd", true, "-c"), ("format", true, "-f"), ("read-only", false, "-r"),
        ("snapshot", false, "-s"), ("nocache", false, "-n"), ("copy-on-read", false, "-C"), ("misalign", false, "-m"),
        ("native-aio", false, "-k"), ("aio", true, "-i"), ("discard", true, "-d"), ("cache", true, "-t"), ("trace", true, "-T"),
        ("object", true, "--object"), ("image-opts", false, "--image-opts"), ("force-share", false, "-U"),
    ];

    /// <summary>
    /// The tokens to parse, or null when the run ends here; <paramref name="exitCode"/> then says how (what qemu-io
    /// prints on the way has been written).
    /// </summary>
    public static List<string>? Normalize(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, out int exitCode)
    {
        exitCode = 0;
        var options = new List<string>();
        var objects = new List<string>();
        var positionals = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var word = args[i];
            if (word == "--")
            {
                positionals.AddRange(args.Skip(i + 1));
                break;
            }

            if (word.Length < 2 || word[0] != '-')
            {
                positionals.Add(word);
                continue;
            }

            string? token;
            string? value;
            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                if (LongOption(word, args, ref i, stderr) is not { } option)
                {
                    return Usage(stdout, out exitCode);
                }

                (token, value) = option;
                if (token == "-h")
                {
                    return ["--help"];
                }

                if (!Act(token, value, options, objects, stdout, stderr, out exitCode))
                {
                    return null;
                }

                continue;
            }

            for (var j = 1; j < word.Length; j++)
            {
                var letter = word[j];
                if (!ShortOptions.TryGetValue(letter, out var takesValue))
                {
                    stderr.WriteLine($"{ProgramName.Value}: invalid option -- '{letter}'");
                    return Usage(stdout, out exitCode);
                }

                token = "-" + letter;
                value = null;
                if (takesValue)
                {
                    if (j + 1 < word.Length)
                    {
                        value = word[(j + 1)..];
                    }
                    else if (i + 1 < args.Count)
                    {
                        value = args[++i];
                    }
                    else
                    {
                        stderr.WriteLine($"{ProgramName.Value}: option requires an argument -- '{letter}'");
                        return Usage(stdout, out exitCode);
                    }
                }

                if (token == "-h")
                {
                    return ["--help"];
                }

                if (!Act(token, value, options, objects, stdout, stderr, out exitCode))
                {
                    return null;
                }

                if (takesValue)
                {
                    break;
                }
            }
        }

        if (positionals.Count > 1)
        {
            return Usage(stdout, out exitCode);
        }

        return [.. options, "--", .. positionals];
    }

    /// <summary>A long option and its value, or null after getopt's complaint.</summary>
    private static (string Token, string? Value)? LongOption(string word, IReadOnlyList<string> args, ref int i, TextWriter stderr)
    {
        var equals = word.IndexOf('=', StringComparison.Ordinal);
        var typed = equals < 0 ? word[2..] : word[2..equals];
        var matches = LongOptions.Where(o => o.Name == typed).ToList();
        if (matches.Count == 0)
        {
            matches = [.. LongOptions.Where(o => typed.Length > 0 && o.Name.StartsWith(typed, StringComparison.Ordinal))];
        }

        if (matches.Count == 0)
        {
            stderr.WriteLine($"{ProgramName.Value}: unrecognized option '{word}'");
            return null;
        }

        if (matches.Count > 1)
        {
            stderr.WriteLine($"{ProgramName.Value}: option '{word[..(equals < 0 ? word.Length : equals)]}' is ambiguous; possibilities:{string.Concat(matches.Select(m => $" '--{m.Name}'"))}");
            return null;
        }

        var (name, takesValue, token) = matches[0];
        if (!takesValue)
        {
            if (equals >= 0)
            {
                stderr.WriteLine($"{ProgramName.Value}: option '--{name}' doesn't allow an argument");
                return null;
            }

            return (token, null);
        }

        if (equals >= 0)
        {
            return (token, word[(equals + 1)..]);
        }

        if (i + 1 < args.Count)
        {
            return (token, args[++i]);
        }

        stderr.WriteLine($"{ProgramName.Value}: option '--{name}' requires an argument");
        return null;
    }

    /// <summary>Does what qemu-io does on meeting the option; false when the run ends there.</summary>
    private static bool Act(string token, string? value, List<string> options, List<string> objects, TextWriter stdout, TextWriter stderr, out int exitCode)
    {
        exitCode = 0;
        if (token == "--object" && ObjectHelp.For(value!) is { } help)
        {
            // qemu-io answers a help request as it reads the option, and exits.
            stdout.Write(help);
            return false;
        }

        var complaint = token switch
        {
            "-d" => IoModeCheck.Complaint(value, null, null),
            "-i" => IoModeCheck.Complaint(null, value, null),
            "-t" => IoModeCheck.Complaint(null, null, value),
            "--object" => Secrets.Complaint([.. objects, value!]),
            _ => null,
        };
        if (complaint is not null)
        {
            stderr.WriteLine($"{ProgramName.Value}: {complaint}");
            exitCode = 1;
            return false;
        }

        switch (token)
        {
            case "-V":
                stdout.WriteLine($"{ProgramName.Value} io version {typeof(IoCommandLine).Assembly.GetName().Version}");
                return false;
            case "-T" when ApplyTrace(value!, stdout, stderr) is { } traceExit:
                exitCode = traceExit;
                return false;
        }

        if (token == "--object")
        {
            objects.Add(value!);
        }

        var name = token.StartsWith("--", StringComparison.Ordinal) ? token : "--" + LongOptions.First(o => o.Token == token).Name;
        if (value is null)
        {
            options.Add(token);
        }
        else if (value.StartsWith('-'))
        {
            // Attached, so a value that starts with '-' is never read as an option.
            options.Add($"{name}={value}");
        }
        else
        {
            // Apart, so an empty value stays a value.
            options.Add(name);
            options.Add(value);
        }

        return true;
    }

    /// <summary>qemu-io's <c>-T</c>, read as qemu-img's is; its log opened at once. An exit code when the run ends here.</summary>
    private static int? ApplyTrace(string value, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (TraceOptions.Apply(value, stdout, stderr) is { } exit)
            {
                return exit;
            }
        }
        catch (InvalidOptionException e)
        {
            stderr.WriteLine($"{ProgramName.Value}: {e.Message}");
            return 1;
        }

        if (TraceOptions.FileOf(value) is { } file)
        {
            TraceOptions.OpenLog(file);
        }

        return null;
    }

    /// <summary>qemu-io prints its usage (ours in our words here) and exits 1.</summary>
    private static List<string>? Usage(TextWriter stdout, out int exitCode)
    {
        stdout.WriteLine($"Usage: {ProgramName.Value} io [OPTIONS]... [-c STRING]... [file]");
        stdout.WriteLine($"Runs qemu-io commands against an image; '{ProgramName.Value} io --help' lists the options, '{ProgramName.Value} io -c help' the commands.");
        exitCode = 1;
        return null;
    }
}
