using DiskImage.Options;

namespace DiskImage.Formats.Filters.Throttle;

/// <summary>
/// Reads a <c>--object throttle-group,id=ID,...</c> definition as QEMU's object layer does: every limit either as
/// <c>x-NAME</c> or as <c>limits.NAME</c>, first checked for form (integers, known keys), then applied in the order of
/// QEMU's option dictionary with each property's own checks, and last the whole configuration checked as a group is.
/// </summary>
internal static class ThrottleGroupObject
{
    /// <summary>The limit names in QEMU's schema order, with the bucket and the part of it each sets.</summary>
    private static readonly (string Name, ThrottleBucketKind Bucket, Part Part)[] Limits =
    [
        ("iops-total", ThrottleBucketKind.OpsTotal, Part.Average),
        ("iops-total-max", ThrottleBucketKind.OpsTotal, Part.Max),
        ("iops-total-max-length", ThrottleBucketKind.OpsTotal, Part.BurstLength),
        ("iops-read", ThrottleBucketKind.OpsRead, Part.Average),
        ("iops-read-max", ThrottleBucketKind.OpsRead, Part.Max),
        ("iops-read-max-length", ThrottleBucketKind.OpsRead, Part.BurstLength),
        ("iops-write", ThrottleBucketKind.OpsWrite, Part.Average),
        ("iops-write-max", ThrottleBucketKind.OpsWrite, Part.Max),
        ("iops-write-max-length", ThrottleBucketKind.OpsWrite, Part.BurstLength),
        ("bps-total", ThrottleBucketKind.BpsTotal, Part.Average),
        ("bps-total-max", ThrottleBucketKind.BpsTotal, Part.Max),
        ("bps-total-max-length", ThrottleBucketKind.BpsTotal, Part.BurstLength),
        ("bps-read", ThrottleBucketKind.BpsRead, Part.Average),
        ("bps-read-max", ThrottleBucketKind.BpsRead, Part.Max),
        ("bps-read-max-length", ThrottleBucketKind.BpsRead, Part.BurstLength),
        ("bps-write", ThrottleBucketKind.BpsWrite, Part.Average),
        ("bps-write-max", ThrottleBucketKind.BpsWrite, Part.Max),
        ("bps-write-max-length", ThrottleBucketKind.BpsWrite, Part.BurstLength),
        ("iops-size", ThrottleBucketKind.BpsTotal, Part.OperationSize),
    ];

    /// <summary>The order <c>limits</c> checks the burst lengths in (bytes before operations).</summary>
    private static readonly ThrottleBucketKind[] BurstCheckOrder =
    [
        ThrottleBucketKind.BpsTotal, ThrottleBucketKind.BpsRead, ThrottleBucketKind.BpsWrite,
        ThrottleBucketKind.OpsTotal, ThrottleBucketKind.OpsRead, ThrottleBucketKind.OpsWrite,
    ];

    private const string LimitsPrefix = "limits.";

    private enum Part
    {
        Average,
        Max,
        BurstLength,
        OperationSize,
    }

    /// <summary>The group's id and limits; the errors are QEMU's.</summary>
    /// <param name="properties">The definition's properties after its type (<c>id</c> included).</param>
    /// <param name="allKeys">Every key of the definition as given, for naming an unexpected one as QEMU does.</param>
    public static (string Id, ThrottleConfig Config) Parse(Dictionary<string, string> properties, IReadOnlyList<string> allKeys)
    {
        if (!properties.Remove("id", out var id))
        {
            throw new InvalidOptionException("Parameter 'id' is missing");
        }

        if (properties.ContainsKey("limits"))
        {
            throw new InvalidOptionException("Invalid parameter type for 'limits', expected: object");
        }

        // First every value's form, the limits object before the x- aliases, unknown keys after each.
        var viaLimits = Values(properties, LimitsPrefix);
        // The limits object is a table of its own, holding the keys without their prefix.
        var limitKeys = allKeys.Where(k => k.StartsWith(LimitsPrefix, StringComparison.Ordinal)).Select(k => k[LimitsPrefix.Length..]).ToList();
        var strayLimits = properties.Keys.Where(k => k.StartsWith(LimitsPrefix, StringComparison.Ordinal)).Select(k => k[LimitsPrefix.Length..]).ToList();
        if (GlibKeyOrder.FirstLeft(limitKeys, strayLimits) is { } strayLimit)
        {
            throw new InvalidOptionException($"Parameter '{LimitsPrefix}{strayLimit}' is unexpected");
        }

        var viaAliases = Values(properties, "x-");
        var outerKeys = allKeys.Where(k => !k.StartsWith(LimitsPrefix, StringComparison.Ordinal)).ToList();
        if (viaLimits.Count > 0)
        {
            // The nested keys stand in the outer table as one "limits" key, where the first of them stood.
            outerKeys.Insert(allKeys.ToList().FindIndex(k => k.StartsWith(LimitsPrefix, StringComparison.Ordinal)), "limits");
        }

        if (GlibKeyOrder.FirstLeft(outerKeys, properties.Keys) is { } unexpected)
        {
            throw new InvalidOptionException($"Parameter '{unexpected}' is unexpected");
        }

        // The id's form is checked when the object is made, after its members are read.
        if (!IsIdentifier(id))
        {
            throw new InvalidOptionException("Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
        }


        // Then each property as QEMU sets them: in its option dictionary's order, "limits" as one property.
        var config = new ThrottleConfig();
        var present = new List<(string Key, int Index)>();
        if (viaLimits.Count > 0)
        {
            present.Add(("limits", 0));
        }

        present.AddRange(viaAliases.Keys.Select(k => ("x-" + k, 1 + Array.FindIndex(Limits, l => l.Name == k))));
        foreach (var (key, _) in present.OrderBy(p => QemuJson.Bucket(p.Key)).ThenByDescending(p => p.Index))
        {
            var complaint = key == "limits" ? ApplyLimits(config, viaLimits) : ApplyAlias(config, key[2..], viaAliases[key[2..]]);
            if (complaint is not null)
            {
                throw new InvalidOptionException(complaint);
            }
        }

        return (id, config);
    }

    /// <summary>Completes the group: the whole configuration checked.</summary>
    public static void Check(ThrottleConfig config)
    {
        if (config.Complaint() is { } complaint)
        {
            throw new InvalidOptionException(complaint);
        }
    }

    /// <summary>The values of the keys <paramref name="prefix"/>NAME, in schema order, removed from <paramref name="properties"/>.</summary>
    private static Dictionary<string, long> Values(Dictionary<string, string> properties, string prefix)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, _, _) in Limits)
        {
            if (properties.Remove(prefix + name, out var text))
            {
                values[name] = ParseInteger(prefix + name, text);
            }
        }

        return values;
    }

    /// <summary>The <c>limits</c> property: every field given set, burst lengths bounded, then the result checked whole.</summary>
    private static string? ApplyLimits(ThrottleConfig config, Dictionary<string, long> values)
    {
        foreach (var (name, bucket, part) in Limits)
        {
            if (part is Part.Average or Part.Max && values.TryGetValue(name, out var value))
            {
                Set(config, bucket, part, value);
            }
        }

        foreach (var bucket in BurstCheckOrder)
        {
            var name = Array.Find(Limits, l => l.Bucket == bucket && l.Part == Part.BurstLength).Name;
            if (values.TryGetValue(name, out var length))
            {
                if (length > uint.MaxValue)
                {
                    return $"{name} value must be in the range [0, {uint.MaxValue}]";
                }

                Set(config, bucket, Part.BurstLength, length);
            }
        }

        if (values.TryGetValue("iops-size", out var size))
        {
            Set(config, ThrottleBucketKind.BpsTotal, Part.OperationSize, size);
        }

        return config.Complaint();
    }

    /// <summary>One <c>x-NAME</c> property: no negative values, burst lengths within 32 bits.</summary>
    private static string? ApplyAlias(ThrottleConfig config, string name, long value)
    {
        var (_, bucket, part) = Array.Find(Limits, l => l.Name == name);
        if (value < 0)
        {
            return "Property values cannot be negative";
        }

        if (part == Part.BurstLength && value > uint.MaxValue)
        {
            // Sic: QEMU's message lacks the space.
            return $"x-{name} value must be in therange [0, {uint.MaxValue}]";
        }

        Set(config, bucket, part, value);
        return null;
    }

    /// <summary>Stores a value as QEMU's unsigned fields take it (a negative one wraps).</summary>
    private static void Set(ThrottleConfig config, ThrottleBucketKind bucket, Part part, long value)
    {
        unchecked
        {
            switch (part)
            {
                case Part.Average:
                    config[bucket].Average = (ulong)value;
                    break;
                case Part.Max:
                    config[bucket].Max = (ulong)value;
                    break;
                case Part.BurstLength:
                    config[bucket].BurstLength = (uint)value;
                    break;
                default:
                    config.OperationSize = (ulong)value;
                    break;
            }
        }
    }

    /// <summary>A signed 64-bit integer as QEMU's option visitor reads it: decimal, 0x hex or leading-zero octal, with a sign.</summary>
    private static long ParseInteger(string key, string text)
    {
        var complaint = $"Parameter '{key}' expects integer";
        var body = text.TrimStart();
        var negative = body.StartsWith('-');
        if (negative || body.StartsWith('+'))
        {
            body = body[1..];
        }

        if (body.Length == 0 || body[0] is '-' or '+' || char.IsWhiteSpace(body[0]))
        {
            throw new InvalidOptionException(complaint);
        }

        ulong magnitude;
        try
        {
            magnitude = QemuNumber.Parse(key, body);
        }
        catch (InvalidOptionException)
        {
            throw new InvalidOptionException(complaint);
        }

        return negative
            ? magnitude <= 1UL << 63 ? unchecked((long)(0UL - magnitude)) : throw new InvalidOptionException(complaint)
            : magnitude <= long.MaxValue ? (long)magnitude : throw new InvalidOptionException(complaint);
    }

    /// <summary>QEMU's object ids: a letter, then letters, digits, '-', '.' and '_'.</summary>
    private static bool IsIdentifier(string id) =>
        id.Length > 0 && char.IsAsciiLetter(id[0]) && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');
}
