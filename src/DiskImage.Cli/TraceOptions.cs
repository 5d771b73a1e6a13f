namespace DiskImage.Cli;

/// <summary>
/// <c>-T [[enable=]PATTERN][,events=FILE][,file=FILE]</c>, read and checked as QEMU's trace option is. This program
/// has no trace events: an exact event name is one that does not exist (QEMU's warning), a wildcard pattern
/// enables nothing, and <c>help</c> lists no events.
/// </summary>
internal static class TraceOptions
{
    /// <summary>Applies one <c>-T</c> value; an exit code when it ends the run (help, a bad key, an unreadable events file).</summary>
    public static int? Apply(string value, TextWriter stdout, TextWriter stderr)
    {
        var options = Parse(value);
        if (options.TryGetValue("enable", out var pattern) && Enable(pattern, stderr, location: null) is { } exit)
        {
            return exit;
        }

        if (options.TryGetValue("events", out var events))
        {
            return EnableFromFile(events, stderr);
        }

        _ = stdout;
        return null;
    }

    /// <summary>
    /// Opens the trace log as QEMU does at start-up. No events are traced here, so an existing file is left as it is
    /// rather than truncated: it may be one of the command's images.
    /// </summary>
    public static void OpenLog(string path)
    {
        using var log = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write);
    }

    /// <summary>The log file a <c>-T</c> value names, if any.</summary>
    public static string? FileOf(string value) => Parse(value).GetValueOrDefault("file");

    /// <summary>Key=value pairs, the first bare item being <c>enable</c>; QEMU's words for an unknown key.</summary>
    private static Dictionary<string, string> Parse(string value)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var first = true;
        // An empty list or item sets nothing (QEMU's option parser skips it).
        foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            var (key, text) = equals >= 0 ? (item[..equals], item[(equals + 1)..]) : first ? ("enable", item) : (item, "on");
            first = false;
            if (key is not ("enable" or "events" or "file"))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }

            result[key] = text;
        }

        return result;
    }

    /// <summary>One pattern (a leading '-' disables); <c>help</c> or <c>?</c> lists the events, here none, and ends the run.</summary>
    private static int? Enable(string pattern, TextWriter stderr, string? location)
    {
        if (pattern is "help" or "?")
        {
            return 0;
        }

        var name = pattern.StartsWith('-') ? pattern[1..] : pattern;
        if (!name.Contains('*', StringComparison.Ordinal))
        {
            stderr.WriteLine($"{ProgramName.Value}:{location} warning: trace event '{name}' does not exist");
        }

        return null;
    }

    /// <summary>An events file: one pattern a line, '#' lines and empty lines skipped; warnings name the file and line.</summary>
    private static int? EnableFromFile(string path, TextWriter stderr)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var reason = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
                UnauthorizedAccessException => "Permission denied",
                _ => "Input/output error",
            };
            stderr.WriteLine($"{ProgramName.Value}:{path}: {reason}");
            return 1;
        }

        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0 || lines[i][0] == '#')
            {
                continue;
            }

            if (Enable(lines[i], stderr, $"{path}:{i + 1}:") is { } exit)
            {
                return exit;
            }
        }

        return null;
    }
}
