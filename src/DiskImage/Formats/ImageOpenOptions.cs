namespace DiskImage.Formats;

/// <summary>How to open an image.</summary>
public sealed record ImageOpenOptions
{
    /// <summary>Read-only open (the default). Writers must ask for write access.</summary>
    public bool ReadOnly { get; init; } = true;

    /// <summary>Open the backing chain too (needed to read guest data; not needed for <c>info</c>).</summary>
    public bool OpenBackingChain { get; init; } = true;

    /// <summary>
    /// Treat the file as hostile: refuse images that name backing files, external data files or
    /// unknown header extensions, as an upload inspector would.
    /// </summary>
    public bool Untrusted { get; init; }

    /// <summary>The format was named by the caller rather than probed (affects guessed-raw protections).</summary>
    public bool FormatWasProbed { get; init; }

    /// <summary>Where backing files' formats are looked up; null means <see cref="ImageFormatRegistry.Default"/>.</summary>
    public ImageFormatRegistry? Registry { get; init; }

    /// <summary>Supplies the passphrase for an encrypted image by secret id; null when none are known.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary>
    /// <c>encrypt.key-secret</c>: id of the secret (asked from <see cref="SecretProvider"/>) that unlocks an
    /// encrypted image. Backing files are unlocked with the same secret. Without it an encrypted image
    /// does not open, unless <see cref="MetadataOnly"/> is set.
    /// </summary>
    public string? KeySecret { get; init; }

    /// <summary>
    /// Open for the header only, as <c>qemu-img info</c> and <c>create -b</c> do: an encrypted image opens
    /// without its passphrase, and reading its data then fails with the missing-secret error.
    /// </summary>
    public bool MetadataOnly { get; init; }

    /// <summary>
    /// QEMU's <c>cache=unsafe</c>: flushes are not passed to the host file. <c>qemu-img convert</c> opens its
    /// target this way by default, since an interrupted conversion leaves an unusable target anyway.
    /// </summary>
    public bool IgnoreFlushes { get; init; }

    /// <summary>
    /// Options that pick what a container format opens (an OVA's <c>disk=N</c>); formats ignore keys they
    /// do not know.
    /// </summary>
    public IReadOnlyDictionary<string, string> FormatOptions { get; init; } = new Dictionary<string, string>();

    /// <summary>Open the image in repair mode (check -r): allowed even when the corrupt bit is set.</summary>
    public bool ForRepair { get; init; }

    /// <summary>
    /// Full paths of the images above the one being opened (outermost first), so backing chains
    /// that loop or are absurdly deep are refused.
    /// </summary>
    internal IReadOnlyList<string> OpeningChain { get; init; } = [];

    /// <summary>Options for read-only opens of backing files derived from these.</summary>
    public ImageOpenOptions ForBacking() => this with { ReadOnly = true, ForRepair = false, FormatWasProbed = false, IgnoreFlushes = false };
}
