namespace DiskImage.Operations.Io;

/// <summary>A qemu-io style run: open <see cref="Path"/> (when given) and run <see cref="Commands"/> in order.</summary>
public sealed record IoOptions
{
    /// <summary>The image; null starts without one (commands then need <c>open</c> first).</summary>
    public string? Path { get; init; }

    /// <summary>Image format; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary><c>-r</c>: open read-only; writes then fail.</summary>
    public bool ReadOnly { get; init; }

    /// <summary><c>-s</c>: writes go to a temporary overlay; the image itself is never written.</summary>
    public bool Snapshot { get; init; }

    /// <summary><c>-t unsafe</c>: flushes are not passed to the host.</summary>
    public bool IgnoreFlushes { get; init; }

    /// <summary>Cache mode <c>none</c> or <c>directsync</c> (or <c>-n</c>): the image's nodes get <c>cache.direct=on</c>.</summary>
    public bool DirectIo { get; init; }

    /// <summary>
    /// <c>-t writethrough</c> / <c>directsync</c>: every command that writes is flushed before the next one runs, so a
    /// completed write survives the process being killed.
    /// </summary>
    public bool WriteThrough { get; init; }

    /// <summary>
    /// No cache mode was given: qemu-io's default, a writethrough backend. Writes are then not flushed here (the data is
    /// the same), but a blklogwrites node logs the flushes QEMU's backend would make.
    /// </summary>
    public bool DefaultCache { get; init; }

    /// <summary><c>-d ignore</c>: discard requests do nothing.</summary>
    public bool IgnoreDiscards { get; init; }

    /// <summary>The <c>-c</c> command lines.</summary>
    public IReadOnlyList<string> Commands { get; init; } = [];

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks an encrypted image.</summary>
    public string? KeySecret { get; init; }

    /// <summary>
    /// The image was given as an option list (<c>--image-opts</c>): qemu-io then has no device name to put in an open
    /// failure, which reads <c>can't open: ...</c>.
    /// </summary>
    public bool NamedByOptions { get; init; }

    /// <summary><c>-U</c>: open the image sharing every permission; refused unless <see cref="ReadOnly"/>.</summary>
    public bool ForceShare { get; init; }

    /// <summary><c>-C</c>: reads copy what they get from the backing file into the image.</summary>
    public bool CopyOnRead { get; init; }
}
