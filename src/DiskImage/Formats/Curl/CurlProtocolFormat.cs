using DiskImage.IO.Curl;

namespace DiskImage.Formats.Curl;

/// <summary>
/// QEMU's read-only curl protocols named where a format goes (<c>-f https</c>, <c>json:{"driver":"https",...}</c>):
/// the remote file's bytes are the disk, as under raw, and <c>qemu-img info</c> names the protocol as the format.
/// A format above a URL (the usual case) reads it through <see cref="IO.Storage"/> instead. Never chosen by probing;
/// nothing is created.
/// </summary>
internal sealed class CurlProtocolFormat : IImageFormat
{
    public static CurlProtocolFormat Http { get; } = new("http");

    public static CurlProtocolFormat Https { get; } = new("https");

    public static CurlProtocolFormat Ftp { get; } = new("ftp");

    public static CurlProtocolFormat Ftps { get; } = new("ftps");

    private CurlProtocolFormat(string name) => Name = name;

    public string Name { get; }

    public int ProbeHeaderSize => 0;

    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    public bool CanCreate => false;

    public bool SupportsBackingFiles => false;

    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.ReadOnly)
        {
            throw new InvalidImageException(CurlStorage.WriteRefusal);
        }

        if (!path.StartsWith(Name + "://", StringComparison.Ordinal))
        {
            throw new InvalidImageException($"{Name} curl driver cannot handle the URL '{path}' (does not start with '{Name}://')");
        }

        var file = CurlStorage.Open(path, writable: false);
        return new Raw.RawImage(file, options, this);
    }

    public void Create(string path, ImageCreateOptions options) =>
        throw new ImageAccessException(CurlStorage.WriteRefusal);

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        throw new InvalidOptionException(QemuFormatNames.NoCreationMessage(Name));
}
