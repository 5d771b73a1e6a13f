using System.Globalization;

namespace DiskImage.IO.Blkdebug;

/// <summary>
/// Reads a blkdebug node's rules as QEMU does: <c>[inject-error]</c> and <c>[set-state]</c> sections of a rules file
/// (QEMU's config-file syntax: <c>key = "value"</c> lines, <c>#</c> comments) followed by the same sections given as
/// node options (<c>inject-error.0.event=...</c>, or <c>inject-error.event=...</c> for a single one). Errors are
/// QEMU's. Input is bounded: a rules file of at most <see cref="MaxFileBytes"/> and at most <see cref="MaxRules"/> rules.
/// </summary>
internal static class BlkdebugRules
{
    /// <summary>Largest rules file read.</summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>Most rules one node takes.</summary>
    public const int MaxRules = 4096;

    private const string InjectError = "inject-error";
    private const string SetState = "set-state";

    private static readonly string[] InjectKeys = ["event", "state", "iotype", "errno", "sector", "once", "immediately"];
    private static readonly string[] SetStateKeys = ["event", "state", "new_state"];

    private static readonly string[] IoTypeNames = ["read", "write", "write-zeroes", "discard", "flush", "block-status"];

    /// <summary>The rules of a node: those of the rules file at <paramref name="configPath"/> (if any), then those in <paramref name="options"/>.</summary>
    public static IReadOnlyList<BlkdebugRule> Load(string? configPath, IEnumerable<KeyValuePair<string, string>> options)
    {
        var sections = new List<Section>();
        if (configPath is not null)
        {
            sections.AddRange(ParseConfig(ReadConfigFile(configPath)));
        }

        sections.AddRange(FromOptions(options));
        return Build(sections);
    }

    /// <summary>The rules a rules file's text describes.</summary>
    public static IReadOnlyList<BlkdebugRule> ParseConfigText(string text) => Build(ParseConfig(text));

    /// <summary>The rules the node options describe (keys relative to the node).</summary>
    public static IReadOnlyList<BlkdebugRule> ParseOptions(IEnumerable<KeyValuePair<string, string>> options) => Build(FromOptions(options));

    private static string ReadConfigFile(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
            if (stream.Length > MaxFileBytes)
            {
                throw new ImageAccessException("Could not read blkdebug config file: File too large");
            }

            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageAccessException($"Could not read blkdebug config file: {ErrnoText.Describe(e, path)}", e);
        }
        catch (ArgumentException e)
        {
            throw new ImageAccessException("Could not read blkdebug config file: No such file or directory", e);
        }
    }

    /// <summary>One section: its group and its keys in the order given (a later key replaces an earlier one).</summary>
    private sealed record Section(string Group, Dictionary<string, string> Keys);

    /// <summary>QEMU's config-file reader: what its <c>sscanf</c> patterns accept, and its errors.</summary>
    private static List<Section> ParseConfig(string text)
    {
        var sections = new List<Section>();
        Section? current = null;
        var position = 0;
        while (position < text.Length)
        {
            var end = text.IndexOf('\n', position);
            var hasNewline = end >= 0;
            var line = text[position..(hasNewline ? end : text.Length)];
            position = hasNewline ? end + 1 : text.Length;
            if ((line.Length == 0 && hasNewline) || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith('[') && TryParseGroup(line, out var group))
            {
                if (current is not null)
                {
                    sections.Add(Validate(current));
                }

                current = new Section(group.Name, new Dictionary<string, string>(StringComparer.Ordinal));
                if (group.Id is not null)
                {
                    current.Keys["id"] = group.Id;
                }

                continue;
            }

            if (!TryParseAssignment(line, out var key, out var value))
            {
                throw new InvalidOptionException("parse error");
            }

            if (current is null)
            {
                throw new InvalidOptionException("no group defined");
            }

            current.Keys[key] = value;
        }

        if (current is not null)
        {
            sections.Add(Validate(current));
        }

        return sections;
    }

    /// <summary><c>[group "id"]</c> or <c>[group]</c> (the closing bracket is not checked, as QEMU's pattern does not).</summary>
    private static bool TryParseGroup(string line, out (string Name, string? Id) group)
    {
        group = default;
        var token = Token(line, 1, out var afterToken);
        if (token.Length > 0)
        {
            var quote = SkipSpace(line, afterToken);
            if (quote < line.Length && line[quote] == '"')
            {
                var close = line.IndexOf('"', quote + 1);
                var id = line[(quote + 1)..(close < 0 ? line.Length : close)];
                if (id.Length is > 0 and <= 63)
                {
                    group = (token, id);
                    return true;
                }
            }
        }

        var bracket = line.IndexOf(']', 1);
        var name = line[1..(bracket < 0 ? line.Length : bracket)];
        if (name.Length == 0)
        {
            return false;
        }

        group = (name[..Math.Min(name.Length, 63)], null);
        return true;
    }

    /// <summary><c>key = "value"</c> (whitespace optional around <c>=</c>, the value quoted, anything after the closing quote ignored).</summary>
    private static bool TryParseAssignment(string line, out string key, out string value)
    {
        value = "";
        key = Token(line, SkipSpace(line, 0), out var afterKey);
        var equals = SkipSpace(line, afterKey);
        if (key.Length == 0 || equals >= line.Length || line[equals] != '=')
        {
            return false;
        }

        var quote = SkipSpace(line, equals + 1);
        if (quote >= line.Length || line[quote] != '"')
        {
            return false;
        }

        var close = line.IndexOf('"', quote + 1);
        value = line[(quote + 1)..(close < 0 ? line.Length : close)];
        if (value.Length == 0 && close < 0)
        {
            return false;
        }

        value = value[..Math.Min(value.Length, 1023)];
        return true;
    }

    /// <summary>A <c>%63s</c> conversion: up to 63 non-blank characters from <paramref name="start"/>.</summary>
    private static string Token(string line, int start, out int end)
    {
        end = start;
        while (end < line.Length && end - start < 63 && !char.IsWhiteSpace(line[end]))
        {
            end++;
        }

        return line[start..end];
    }

    private static int SkipSpace(string line, int position)
    {
        while (position < line.Length && char.IsWhiteSpace(line[position]))
        {
            position++;
        }

        return position;
    }

    /// <summary>QEMU's <c>inject-error.*</c> and <c>set-state.*</c> option sections: one section, or an enumerated list of them.</summary>
    private static List<Section> FromOptions(IEnumerable<KeyValuePair<string, string>> options)
    {
        var list = options.ToList();
        var sections = new List<Section>();
        foreach (var group in new[] { InjectError, SetState })
        {
            var prefix = group + ".";
            var keys = list.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal))
                .Select(o => new KeyValuePair<string, string>(o.Key[prefix.Length..], o.Value)).ToList();
            if (keys.Count == 0)
            {
                continue;
            }

            var known = KeysOf(group);
            var direct = keys.Where(k => known.Contains(k.Key)).ToList();
            var rest = keys.Where(k => !known.Contains(k.Key)).ToList();
            if (direct.Count > 0 && rest.Count > 0)
            {
                throw new InvalidOptionException($"Unknown option '{rest[0].Key}' for [{group}]");
            }

            if (direct.Count > 0)
            {
                sections.Add(Validate(new Section(group, direct.ToDictionary(k => k.Key, k => k.Value, StringComparer.Ordinal))));
                continue;
            }

            sections.AddRange(SplitArray(group, rest));
        }

        return sections;
    }

    /// <summary>QEMU's <c>qdict_array_split</c>: items <c>0.</c>, <c>1.</c>, ... in order until one is missing; any key left over is refused.</summary>
    private static List<Section> SplitArray(string group, List<KeyValuePair<string, string>> keys)
    {
        var sections = new List<Section>();
        var remaining = new List<KeyValuePair<string, string>>(keys);
        for (var index = 0; remaining.Count > 0 && index < MaxRules; index++)
        {
            var prefix = index.ToString(CultureInfo.InvariantCulture) + ".";
            var item = remaining.Where(k => k.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            if (item.Count == 0)
            {
                if (remaining.Any(k => k.Key == index.ToString(CultureInfo.InvariantCulture)))
                {
                    throw new InvalidOptionException($"[{group}] section (index {index}) does not consist of keys");
                }

                break;
            }

            remaining.RemoveAll(k => k.Key.StartsWith(prefix, StringComparison.Ordinal));
            var section = new Dictionary<string, string>(StringComparer.Ordinal);
            var known = KeysOf(group);
            foreach (var (key, value) in item)
            {
                var name = key[prefix.Length..];
                if (!known.Contains(name))
                {
                    throw new InvalidOptionException($"[{group}] section doesn't support the option '{name}'");
                }

                section[name] = value;
            }

            sections.Add(Validate(new Section(group, section)));
        }

        if (remaining.Count > 0)
        {
            throw new InvalidOptionException($"Unused option '{remaining[0].Key}' for [{group}]");
        }

        return sections;
    }

    private static string[] KeysOf(string group) => group == InjectError ? InjectKeys : SetStateKeys;

    /// <summary>A section's group must exist and its keys must be the group's, with values of the right type (QEMU's option checks).</summary>
    private static Section Validate(Section section)
    {
        if (section.Group is not (InjectError or SetState))
        {
            throw new InvalidOptionException($"There is no option group '{section.Group}'");
        }

        var known = KeysOf(section.Group);
        foreach (var (key, value) in section.Keys)
        {
            if (key == "id")
            {
                continue;
            }

            if (!known.Contains(key))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }

            _ = key switch
            {
                "once" or "immediately" => ParseBool(key, value) ? 1 : 0,
                "state" or "errno" or "sector" or "new_state" => ParseNumber(key, value),
                _ => 0,
            };
        }

        return section;
    }

    /// <summary>The rules in QEMU's order of creation: every <c>[inject-error]</c> section, then every <c>[set-state]</c> one.</summary>
    private static List<BlkdebugRule> Build(List<Section> sections)
    {
        if (sections.Count > MaxRules)
        {
            throw new InvalidOptionException($"Too many blkdebug rules (at most {MaxRules})");
        }

        var ids = new HashSet<(string, string)>();
        foreach (var section in sections)
        {
            if (section.Keys.TryGetValue("id", out var id) && !ids.Add((section.Group, id)))
            {
                throw new InvalidOptionException($"Duplicate ID '{id}' for {section.Group}");
            }
        }

        var rules = new List<BlkdebugRule>();
        foreach (var section in sections.Where(s => s.Group == InjectError).Concat(sections.Where(s => s.Group == SetState)))
        {
            rules.Add(ToRule(section));
        }

        return rules;
    }

    private static BlkdebugRule ToRule(Section section)
    {
        var keys = section.Keys;
        if (!keys.TryGetValue("event", out var eventName))
        {
            throw new InvalidOptionException("Missing event name for rule");
        }

        if (!BlkdebugEvents.TryParse(eventName, out var value))
        {
            throw new InvalidOptionException($"invalid parameter value: {eventName}");
        }

        var state = Number(keys, "state", 0);
        if (section.Group == SetState)
        {
            return new BlkdebugRule { Event = value, Action = BlkdebugAction.SetState, State = (int)state, NewState = (int)Number(keys, "new_state", 0) };
        }

        var ioTypes = BlkdebugIoTypes.Default;
        if (keys.TryGetValue("iotype", out var ioType))
        {
            var index = Array.IndexOf(IoTypeNames, ioType);
            ioTypes = index >= 0 ? (BlkdebugIoTypes)(1 << index) : throw new InvalidOptionException($"invalid parameter value: {ioType}");
        }

        var sector = Number(keys, "sector", -1);
        return new BlkdebugRule
        {
            Event = value,
            Action = BlkdebugAction.InjectError,
            State = (int)state,
            Errno = (int)Number(keys, "errno", 5),
            Once = keys.TryGetValue("once", out var once) && ParseBool("once", once),
            Immediately = keys.TryGetValue("immediately", out var immediately) && ParseBool("immediately", immediately),
            Offset = sector == -1 ? -1 : unchecked(sector * 512),
            IoTypes = ioTypes,
        };
    }

    private static long Number(Dictionary<string, string> keys, string key, long fallback) =>
        keys.TryGetValue(key, out var text) ? ParseNumber(key, text) : fallback;

    /// <summary>QEMU's number options; a leading minus wraps as <c>strtoull</c> does.</summary>
    private static long ParseNumber(string key, string text) => unchecked((long)Options.QemuNumber.Parse(key, text));

    private static bool ParseBool(string key, string text) => text switch
    {
        "on" or "yes" or "true" or "y" => true,
        "off" or "no" or "false" or "n" => false,
        _ => throw new InvalidOptionException($"Parameter '{key}' expects 'on' or 'off'"),
    };
}
