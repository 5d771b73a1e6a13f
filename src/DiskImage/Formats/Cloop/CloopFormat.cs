namespace DiskImage.Formats.Cloop;

/// <summary>
/// Compressed loop images, V2.0 (QEMU's <c>cloop</c> driver): fixed-size blocks, each a zlib stream. Read only, as QEMU
/// has them; <c>create_compressed_fs</c> makes them from a raw file.
/// </summary>
public sealed class CloopFormat : IImageFormat
{
    /// <summary>QEMU's probe score: the preamble is a shell script, which other files may start with too.</summary>
    private const int ProbeScore = 2;

    /// <summary>The one instance; formats hold no state.</summary>
    public static CloopFormat Instance { get; } = new();

    private CloopFormat() { }

    /// <inheritdoc/>
    public string Name => "cloop";

    /// <inheritdoc/>
    public int ProbeHeaderSize => CloopHeader.Preamble.Length;

    /// <summary>QEMU reads cloop images only.</summary>
    public bool CanCreate => false;

    /// <summary>The header names no backing file.</summary>
    public bool SupportsBackingFiles => false;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => CloopHeader.Probe(header) ? ProbeScore : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => CloopImage.Open(path, options);

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options) => throw NoCreation();

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) => throw NoCreation();

    private UnsupportedFeatureException NoCreation() => new($"Format driver '{Name}' does not support image creation");
}
