namespace DiskImage.Operations.Commit;

/// <summary>What <c>qemu-img commit</c> is asked to do.</summary>
public sealed record CommitOptions
{
    /// <summary>The overlay whose data is written into its backing file.</summary>
    public required string Path { get; init; }

    /// <summary>Format of the image being committed; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary>
    /// The backing image to commit into (qemu-img's <c>-b</c>), anywhere down the chain; null for the
    /// immediate backing file. Naming a base implies <see cref="KeepOverlay"/>.
    /// </summary>
    public string? Base { get; init; }

    /// <summary>Leave the committed image's clusters in place (qemu-img's <c>-d</c>).</summary>
    public bool KeepOverlay { get; init; }

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks the encrypted image (and its backing files).</summary>
    public string? KeySecret { get; init; }

    /// <summary>Bytes per second the copy may move (qemu-img commit's <c>-r</c>); 0 for no limit.</summary>
    public long RateLimit { get; init; }

    /// <summary>Cache mode <c>none</c> or <c>directsync</c> (<c>-t</c>): the image's nodes and its base's get <c>cache.direct=on</c>.</summary>
    public bool DirectIo { get; init; }
}
