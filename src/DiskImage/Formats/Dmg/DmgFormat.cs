namespace DiskImage.Formats.Dmg;

/// <summary>
/// Apple's UDIF disk images (QEMU's <c>dmg</c> driver): read only, never created. The bytes are not probed: a file
/// whose name ends in ".dmg" is taken for one, above raw and below every format that knows its header.
/// </summary>
public sealed class DmgFormat : IImageFormat, IFileNameProbe
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static DmgFormat Instance { get; } = new();

    private DmgFormat() { }

    /// <inheritdoc/>
    public string Name => "dmg";

    /// <summary>Nothing of the header is probed.</summary>
    public int ProbeHeaderSize => 0;

    /// <summary>qemu-img cannot create dmg images.</summary>
    public bool CanCreate => false;

    /// <summary>The format names no backing file.</summary>
    public bool SupportsBackingFiles => false;

    /// <summary>Always 0: the format is recognised by its file name alone (<see cref="ProbeFileName"/>).</summary>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    /// <summary>2, just above raw, for a name longer than ".dmg" that ends in it (case matters).</summary>
    public int ProbeFileName(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return fileName.Length > 4 && fileName.EndsWith(".dmg", StringComparison.Ordinal) ? 2 : 0;
    }

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => DmgImage.Open(path, options);

    /// <summary>Refused before anything is touched (qemu-img says so itself, from <see cref="CanCreate"/>).</summary>
    public void Create(string path, ImageCreateOptions options) =>
        throw new UnsupportedFeatureException("Format driver 'dmg' does not support image creation");

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ImageCreateOptions { Size = size };
    }
}
