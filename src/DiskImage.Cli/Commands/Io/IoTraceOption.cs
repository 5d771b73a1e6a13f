namespace DiskImage.Cli.Commands.Io;

/// <summary>
/// qemu-io's <c>-T [[enable=]PATTERN][,events=FILE][,file=FILE]</c>. No trace events exist here, so every event named
/// (not a pattern) is warned about as QEMU warns about one it does not know, an events file's lines each under the
/// file's name and line number; a missing events file or an unknown key ends the run. <c>file=</c> gets its (empty) log.
/// </summary>
internal static class IoTraceOption
{
    /// <summary>Warns and creates as qemu-io would; false when the run ends here (the reason printed).</summary>
    public static bool Apply(string argument, TextWriter stderr)
    {
        string? enable = null, events = null, file = null;
        var first = true;
        foreach (var part in argument.Split(','))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? (first ? "enable" : part) : part[..equals];
            var value = equals < 0 ? (first ? part : "on") : part[(equals + 1)..];
            first = false;
            switch (key)
            {
                case "enable": enable = value; break;
                case "events": events = value; break;
                case "file": file = value; break;
                default:
                    stderr.WriteLine($"{ProgramName.Value}: Invalid parameter '{key}'");
                    return false;
            }
        }

        if (enable is not null)
        {
            Warn(enable, $"{ProgramName.Value}: ", stderr);
        }

        if (events is not null && !ReadEvents(events, stderr))
        {
            return false;
        }

        if (file is not null)
        {
            using var log = new FileStream(file, FileMode.Create, FileAccess.Write);
        }

        return true;
    }

    private static bool ReadEvents(string path, TextWriter stderr)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{ProgramName.Value}:{path}: {(e is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory" : e is UnauthorizedAccessException ? "Permission denied" : e.Message)}");
            return false;
        }

        for (var i = 0; i < lines.Length; i++)
        {
            // Empty lines and comments are skipped.
            if (lines[i].Length > 0 && lines[i][0] != '#')
            {
                Warn(lines[i], $"{ProgramName.Value}:{path}:{i + 1}: ", stderr);
            }
        }

        return true;
    }

    /// <summary>A leading '-' disables rather than enables; a pattern (with '*' or '?') matching nothing is no mistake.</summary>
    private static void Warn(string name, string prefix, TextWriter stderr)
    {
        var eventName = name.StartsWith('-') ? name[1..] : name;
        if (eventName.IndexOfAny(['*', '?']) < 0)
        {
            stderr.WriteLine($"{prefix}warning: trace event '{eventName}' does not exist");
        }
    }
}
