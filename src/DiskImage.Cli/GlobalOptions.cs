using System.Reflection;

namespace DiskImage.Cli;

/// <summary>
/// The options qemu-img reads before its verb (<c>-h</c>/<c>--help</c>, <c>-V</c>/<c>--version</c>,
/// <c>-T</c>/<c>--trace</c>), read as its getopt reads them: up to the first word that is no option, long names
/// abbreviated, <c>--</c> ending them. What is left is the verb and its arguments.
/// </summary>
internal static class GlobalOptions
{
    /// <summary>The result: the verb's arguments, or an exit code when the options alone decided the run.</summary>
    internal readonly record struct Outcome(string[] Arguments, int? ExitCode, bool Help);

    private static readonly string[] LongNames = ["help", "version", "trace"];

    /// <summary>Reads the leading options; throws <see cref="UsageException"/> or <see cref="InvalidOptionException"/>.</summary>
    public static Outcome Read(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var traceFiles = new List<string>();
        var i = 0;
        for (; i < args.Length; i++)
        {
            var word = args[i];
            if (word == "--")
            {
                i++;
                break;
            }

            if (word.Length < 2 || word[0] != '-')
            {
                break;
            }

            string? letter;
            string? value = null;
            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                var equals = word.IndexOf('=', StringComparison.Ordinal);
                var typed = equals < 0 ? word[2..] : word[2..equals];
                var matches = LongNames.Where(n => n.StartsWith(typed, StringComparison.Ordinal)).ToList();
                if (matches.Count != 1 || (equals >= 0 && matches[0] != "trace"))
                {
                    throw new UsageException($"unrecognized option '{word}'");
                }

                letter = matches[0] switch { "help" => "h", "version" => "V", _ => "T" };
                if (letter == "T")
                {
                    value = equals >= 0 ? word[(equals + 1)..]
                        : i + 1 < args.Length ? args[++i] : throw new UsageException($"missing argument for option '{word}'");
                }
            }
            else
            {
                letter = word[1..2];
                if (letter is not ("h" or "V" or "T"))
                {
                    throw new UsageException($"unrecognized option '{word}'");
                }

                if (letter == "T")
                {
                    value = word.Length > 2 ? word[2..]
                        : i + 1 < args.Length ? args[++i] : throw new UsageException($"missing argument for option '{word}'");
                }
            }

            switch (letter)
            {
                case "h":
                    return new Outcome([], null, Help: true);
                case "V":
                    PrintVersion(stdout);
                    return new Outcome([], 0, Help: false);
                default:
                    if (TraceOptions.Apply(value!, stdout, stderr) is { } exit)
                    {
                        return new Outcome([], exit, Help: false);
                    }

                    if (TraceOptions.FileOf(value!) is { } file)
                    {
                        traceFiles.Add(file);
                    }

                    break;
            }
        }

        if (i >= args.Length)
        {
            // Options and no verb: qemu-img has nothing to do and says nothing.
            return new Outcome([], 0, Help: false);
        }

        if (traceFiles.Count > 0)
        {
            // QEMU opens its trace log (the last -T file= wins) before it looks the verb up.
            TraceOptions.OpenLog(traceFiles[^1]);
        }

        return new Outcome(args[i..], null, Help: false);
    }

    /// <summary>
    /// qemu-img's version lines, in their shape: the QEMU release whose behaviour this follows as the version a script
    /// reads, and this program's own version and copyright.
    /// </summary>
    private static void PrintVersion(TextWriter stdout)
    {
        var version = typeof(GlobalOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        stdout.WriteLine($"{ProgramName.Value} version 7.2.0 (diskimg {version})");
        stdout.WriteLine("Copyright (c) 2026 DiskImage contributors");
    }
}
