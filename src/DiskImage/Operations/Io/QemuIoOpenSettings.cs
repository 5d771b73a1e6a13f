namespace DiskImage.Operations.Io;

/// <summary>How <c>qemu-io FILE</c> or its <c>open</c> command opens an image.</summary>
internal sealed record QemuIoOpenSettings(string Path)
{
    public string? Format { get; init; }

    /// <summary>The name an open failure is reported under, when <see cref="Path"/> is a description built from it (a <c>blkdebug:</c> name with <c>-o</c> options).</summary>
    public string? NameForErrors { get; init; }

    /// <summary>Named by <c>--image-opts</c>: an open failure names no device.</summary>
    public bool NamedByOptions { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary><c>-s</c>: writes go to a temporary qcow2 overlay that disappears on close.</summary>
    public bool Snapshot { get; init; }

    public bool ForceShare { get; init; }

    /// <summary><c>cache=unsafe</c>: flushes are not passed on.</summary>
    public bool IgnoreFlushes { get; init; }

    /// <summary>Cache mode writethrough or directsync: writes are flushed when their command completes.</summary>
    public bool WriteThrough { get; init; }

    /// <summary><c>discard=ignore</c>: discards and <c>write -z -u</c>'s unmapping do nothing.</summary>
    public bool IgnoreDiscards { get; init; }

    public Func<string?, byte[]?>? SecretProvider { get; init; }

    public string? KeySecret { get; init; }

    /// <summary><c>overlap-check.inactive-l2=on</c> (qcow2): writes check snapshots' L2 tables too.</summary>
    public bool InactiveL2OverlapCheck { get; init; }

    /// <summary><c>file.align</c> of a <c>blkdebug:</c> name: the alignment its breakpoint events are raised at (1: none).</summary>
    public long BlkdebugAlign { get; init; } = 1;
}
