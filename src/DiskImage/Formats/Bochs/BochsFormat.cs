namespace DiskImage.Formats.Bochs;

/// <summary>
/// Bochs "growing" redolog images (QEMU's <c>bochs</c> driver), versions 1 and 2: read only, as QEMU has them; no
/// tool here creates them.
/// </summary>
public sealed class BochsFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static BochsFormat Instance { get; } = new();

    private BochsFormat() { }

    /// <inheritdoc/>
    public string Name => "bochs";

    /// <inheritdoc/>
    public int ProbeHeaderSize => BochsHeader.Size;

    /// <summary>QEMU reads Bochs images only.</summary>
    public bool CanCreate => false;

    /// <summary>The header names no backing file.</summary>
    public bool SupportsBackingFiles => false;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => BochsHeader.IsBochs(header) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => BochsImage.Open(path, options);

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options) => throw NoCreation();

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) => throw NoCreation();

    private UnsupportedFeatureException NoCreation() => new($"Format driver '{Name}' does not support image creation");
}
