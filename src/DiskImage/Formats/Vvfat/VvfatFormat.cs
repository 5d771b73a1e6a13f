namespace DiskImage.Formats.Vvfat;

/// <summary>
/// QEMU's vvfat driver named as the format (<c>-f vvfat fat:DIR</c>): the directory's FAT disk itself is the image,
/// named by the node's options. Without <c>-f</c> a <c>fat:</c> name is a protocol name whose bytes are probed (raw),
/// as in QEMU. Read-only; never chosen by probing, and it creates nothing.
/// </summary>
internal sealed class VvfatFormat : IImageFormat
{
    public static VvfatFormat Instance { get; } = new();

    public string Name => "vvfat";

    public int ProbeHeaderSize => 0;

    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    public bool CanCreate => false;

    public bool SupportsBackingFiles => false;

    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        var storage = VvfatStorage.Open(path, !options.ReadOnly);
        return new Raw.RawImage(storage, options with { StackedDisplayName = options.StackedDisplayName ?? storage.NodeName }, this);
    }

    public void Create(string path, ImageCreateOptions options) =>
        throw new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(Name));

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        throw new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(Name));
}
