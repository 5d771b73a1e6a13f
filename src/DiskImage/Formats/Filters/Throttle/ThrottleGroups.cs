namespace DiskImage.Formats.Filters.Throttle;

/// <summary>
/// The throttle groups of this process, defined with qemu-img's <c>--object throttle-group,id=ID,...</c> and named
/// by throttle nodes (<c>json:{"driver": "throttle", "throttle-group": "ID", "file": ...}</c>). Like QEMU's, they are
/// global: every node naming a group shares its limits.
/// </summary>
internal static class ThrottleGroups
{
    private static readonly Dictionary<string, ThrottleGroup> Groups = new(StringComparer.Ordinal);

    /// <summary>
    /// Defines the group a <c>--object throttle-group,...</c> value describes (its properties after the type), with
    /// QEMU's errors for bad limits; disposing the result forgets the group.
    /// </summary>
    /// <exception cref="InvalidOptionException">A missing or bad id, a malformed or invalid limit, or an id already taken.</exception>
    /// <param name="properties">The properties after the type.</param>
    /// <param name="allKeys">Every key of the definition as given (the type's included), for naming an unexpected one as QEMU does.</param>
    public static IDisposable Define(Dictionary<string, string> properties, IReadOnlyList<string> allKeys)
    {
        var (id, config) = ThrottleGroupObject.Parse(properties, allKeys);
        lock (Groups)
        {
            if (Groups.ContainsKey(id))
            {
                throw new InvalidOptionException($"attempt to add duplicate property '{id}' to object (type 'container')");
            }

            ThrottleGroupObject.Check(config);
            var group = new ThrottleGroup(id, config);
            Groups[id] = group;
            return new Definition(group);
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

    private sealed class Definition(ThrottleGroup group) : IDisposable
    {
        public void Dispose()
        {
            lock (Groups)
            {
                if (Groups.TryGetValue(group.Name, out var current) && ReferenceEquals(current, group))
                {
                    Groups.Remove(group.Name);
                }
            }
        }
    }
}
