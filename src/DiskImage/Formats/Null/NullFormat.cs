using System.Globalization;

namespace DiskImage.Formats.Null;

/// <summary>
/// QEMU's <c>null-co</c> and <c>null-aio</c> drivers: a disk of <c>size</c> bytes (1 GiB unless given) that discards
/// writes, named where a driver goes (<c>json:{"driver": "null-co", ...}</c>, <c>--image-opts</c>, qemu-io's
/// <c>open -o driver=null-co</c>). Never chosen by probing, and not creatable.
/// </summary>
internal sealed class NullFormat : IImageFormat
{
    public static NullFormat Co { get; } = new("null-co");

    public static NullFormat Aio { get; } = new("null-aio");

    /// <summary>QEMU's default size for a null node.</summary>
    public const long DefaultSize = 1L << 30;

    private NullFormat(string name) => Name = name;

    public string Name { get; }

    public int ProbeHeaderSize => 0;

    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    public bool CanCreate => false;

    public bool SupportsBackingFiles => false;

    /// <summary>Opens a node of the size and <c>read-zeroes</c> setting in the open's format options.</summary>
    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var size = options.FormatOptions.TryGetValue("size", out var text) ? long.Parse(text, CultureInfo.InvariantCulture) : DefaultSize;
        var readZeroes = options.FormatOptions.TryGetValue("read-zeroes", out var zeroes) && zeroes == "on";
        return new Raw.RawImage(new NullStorage(path, size, readZeroes, !options.ReadOnly), options, this);
    }

    public void Create(string path, ImageCreateOptions options) =>
        throw new UnsupportedFeatureException($"Driver '{Name}' does not support image creation");

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        throw new UnsupportedFeatureException($"Driver '{Name}' does not support image creation");
}
