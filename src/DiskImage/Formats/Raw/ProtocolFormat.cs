namespace DiskImage.Formats.Raw;

/// <summary>
/// A protocol named where a format goes (<c>-f nbd</c>, <c>-f file</c>, <c>--image-opts driver=nbd,...</c>): QEMU
/// then uses the protocol node itself as the image, so its bytes are the disk as with raw, but <c>qemu-img info</c>
/// names the protocol as the format and, the protocol having no driver information, prints no dirty flag or
/// cluster size. Never chosen by probing.
/// </summary>
internal sealed class ProtocolFormat : IImageFormat
{
    public static ProtocolFormat File { get; } = new("file");

    public static ProtocolFormat Nbd { get; } = new("nbd");

    /// <summary>QEMU's driver for a host block or character device.</summary>
    public static ProtocolFormat HostDevice { get; } = new("host_device");

    /// <summary>QEMU's driver for a host CD-ROM device: read as any device while it holds a disc; without one (or on a
    /// device that is no CD-ROM drive) every request fails with ENOMEDIUM, as QEMU's driver asks the drive each time.</summary>
    public static ProtocolFormat HostCdrom { get; } = new("host_cdrom");

    /// <summary>The host protocol driver named <paramref name="driver"/> as the top node (<c>file</c>, <c>host_device</c>, <c>host_cdrom</c>).</summary>
    public static ProtocolFormat ForHostDriver(string driver) => driver switch
    {
        "file" => File,
        "host_device" => HostDevice,
        "host_cdrom" => HostCdrom,
        _ => throw new ArgumentOutOfRangeException(nameof(driver), driver, "Not a host protocol driver"),
    };

    private ProtocolFormat(string name) => Name = name;

    public string Name { get; }

    public int ProbeHeaderSize => 0;

    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    /// <summary>Only <c>file</c>: qemu-img creates a plain file with <c>create -f file</c>, as a raw image.</summary>
    public bool CanCreate => this == File;

    public bool SupportsBackingFiles => false;

    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = IO.Storage.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: false));
        file.IgnoreFlushes = options.IgnoreFlushes;
        return new RawImage(file, options, this)
        {
            MediumCheck = this == HostCdrom && file is IO.HostFile host ? () => IO.CdromCalls.HasDisc(host.Handle) : null,
        };
    }

    public void Create(string path, ImageCreateOptions options)
    {
        if (this != File)
        {
            throw new UnsupportedFeatureException($"Driver '{Name}' does not support image creation");
        }

        RawFormat.Instance.Create(path, options);
    }

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        this == File ? RawFormat.Instance.ParseCreateOptions(size, options)
            : throw new UnsupportedFeatureException($"Driver '{Name}' does not support image creation");
}
