namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Which internal snapshot an operation means: by ID, by name, or (for a bare word) by ID first and
/// then by name, the way qemu-img looks snapshots up.
/// </summary>
public sealed record Qcow2SnapshotSelector
{
    /// <summary>Match this snapshot ID; null to match by name alone.</summary>
    public string? Id { get; init; }

    /// <summary>Match this snapshot name; null to match by ID alone.</summary>
    public string? Name { get; init; }

    /// <summary>A bare word that matches an ID or, failing that, a name.</summary>
    public string? IdOrName { get; init; }

    /// <inheritdoc/>
    public override string ToString() => IdOrName ?? Name ?? Id ?? "";

    /// <summary>
    /// Parses convert's <c>-l</c> value: <c>snapshot.id=ID</c>, <c>snapshot.name=NAME</c> (comma-separated,
    /// both allowed) or a bare ID or name.
    /// </summary>
    public static Qcow2SnapshotSelector Parse(string text)
    {
        if (!text.StartsWith("snapshot.", StringComparison.Ordinal))
        {
            return new Qcow2SnapshotSelector { IdOrName = text };
        }

        string? id = null, name = null;
        foreach (var part in text.Split(','))
        {
            var equals = part.IndexOf('=');
            var key = equals < 0 ? part : part[..equals];
            var value = equals < 0 ? "" : part[(equals + 1)..];
            switch (key)
            {
                case "snapshot.id":
                    id = value;
                    break;
                case "snapshot.name":
                    name = value;
                    break;
                default:
                    throw new InvalidOptionException($"Invalid parameter '{key}'");
            }
        }

        return new Qcow2SnapshotSelector { Id = id, Name = name };
    }

    internal int FindIn(IReadOnlyList<Qcow2Snapshot> snapshots)
    {
        if (IdOrName is not null)
        {
            for (var i = 0; i < snapshots.Count; i++)
            {
                if (snapshots[i].Id == IdOrName)
                {
                    return i;
                }
            }

            for (var i = 0; i < snapshots.Count; i++)
            {
                if (snapshots[i].Name == IdOrName)
                {
                    return i;
                }
            }

            return -1;
        }

        for (var i = 0; i < snapshots.Count; i++)
        {
            if ((Id is null || snapshots[i].Id == Id) && (Name is null || snapshots[i].Name == Name))
            {
                return i;
            }
        }

        return -1;
    }
}
