using DiskImage.Options;

namespace DiskImage.Formats.Filters.Throttle;

/// <summary>
/// The throttle groups of this process, defined with qemu-img's <c>--object throttle-group,id=ID,...</c> and named
/// by throttle nodes (<c>json:{"driver": "throttle", "throttle-group": "ID", "file": ...}</c>). Like QEMU's, they are
/// global: every node naming a group shares its limits.
/// </summary>
public static class ThrottleGroups
{
    private static readonly Dictionary<string, ThrottleGroup> Groups = new(StringComparer.Ordinal);

    /// <summary>Whether an <c>--object</c> value defines a throttle group (<c>throttle-group,...</c> or <c>qom-type=throttle-group</c>).</summary>
    public static bool IsDefinition(string definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return definition == "throttle-group" || definition.StartsWith("throttle-group,", StringComparison.Ordinal)
            || (definition.Contains("qom-type=throttle-group", StringComparison.Ordinal)
                && KeyValueOptions.Parse([definition]).GetValueOrDefault("qom-type") == "throttle-group");
    }

    /// <summary>Defines the group an <c>--object throttle-group,...</c> value describes; QEMU's errors for bad limits.</summary>
    /// <exception cref="InvalidOptionException">A missing or bad id, a malformed or invalid limit, or an id already taken.</exception>
    public static void Define(string definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var properties = KeyValueOptions.Parse([definition]);
        properties.Remove("qom-type");
        properties.Remove("throttle-group");
        var (id, config) = ThrottleGroupObject.Parse(properties);
        lock (Groups)
        {
            if (Groups.ContainsKey(id))
            {
                throw new InvalidOptionException($"attempt to add duplicate property '{id}' to object (type 'container')");
            }

            ThrottleGroupObject.Check(config);
            Groups[id] = new ThrottleGroup(id, config);
        }
    }

    /// <summary>The group named <paramref name="name"/>, or null.</summary>
    internal static ThrottleGroup? Find(string name)
    {
        lock (Groups)
        {
            return Groups.GetValueOrDefault(name);
        }
    }
}
