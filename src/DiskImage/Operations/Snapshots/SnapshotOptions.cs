namespace DiskImage.Operations.Snapshots;

/// <summary>One internal-snapshot operation on an image file.</summary>
public sealed record SnapshotOptions
{
    /// <summary>The image whose internal snapshots are listed or changed.</summary>
    public required string Path { get; init; }

    /// <summary>Image format; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary>What to do (<c>-l</c>, <c>-c</c>, <c>-a</c>, <c>-d</c>).</summary>
    public SnapshotAction Action { get; init; } = SnapshotAction.List;

    /// <summary>Snapshot name (create) or ID-or-name (apply, delete); unused for list.</summary>
    public string? Name { get; init; }

    /// <summary>Creation time recorded in a new snapshot; now when null.</summary>
    public DateTimeOffset? Date { get; init; }

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks an encrypted image (and its backing files).</summary>
    public string? KeySecret { get; init; }

    /// <summary><c>-U</c>: open the image sharing every permission; only listing can do so.</summary>
    public bool ForceShare { get; init; }

    /// <summary>
    /// Receives the lines QEMU's qcow2 driver prints on stderr while the operation runs (such as a failure to free
    /// clusters, which leaves them leaked but does not fail the operation); null to drop them.
    /// </summary>
    public Action<string>? DriverMessages { get; init; }
}
