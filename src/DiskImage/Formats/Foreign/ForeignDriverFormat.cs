namespace DiskImage.Formats.Foreign;

/// <summary>
/// A driver qemu-img 7.2 has and this library does not implement (a remote protocol such as iscsi or gluster).
/// Naming it fails as qemu-img fails when it cannot open the input: a file-based driver first opens its file (so a missing file, a
/// directory or an unreachable NBD server is reported as qemu-img reports it), then refuses in the driver's own
/// words; a protocol refuses a name it cannot parse. Where qemu-img would go on (a real image of the format, a URL
/// the protocol takes), this says the driver is not supported rather than pretend. Never chosen by probing.
/// </summary>
internal sealed class ForeignDriverFormat : IImageFormat
{
    /// <summary>One for every qemu-img driver name the library has no implementation of.</summary>
    public static IReadOnlyList<ForeignDriverFormat> All { get; } =
    [
        .. new[] { "gluster", "nfs", "rbd", "ssh", "iscsi", "iser", "nvme", "ftp", "ftps", "http", "https" }
            .Select(n => new ForeignDriverFormat(n)),
    ];

    private const string GlusterUsage =
        "Usage: file=gluster[+transport]://[host[:port]]volume/path[?socket=...][,file.debug=N][,file.logfile=/path/filename.log]";

    private ForeignDriverFormat(string name)
    {
        Name = name;
        Class = QemuFormatNames.ClassOf(name);
    }

    public string Name { get; }

    private QemuDriverClass Class { get; }

    public int ProbeHeaderSize => 0;

    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    /// <summary>
    /// The protocols qemu-img "creates" in (their own creation, or opening the target instead) get past its checks
    /// and the Formatting line; <see cref="Create"/> then fails as they fail. The others are refused before.
    /// </summary>
    public bool CanCreate => Class is QemuDriverClass.ProtocolWithCreate or QemuDriverClass.ProtocolWithoutCreate;

    public bool SupportsBackingFiles => false;

    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        if (ProtocolError(path, options.ReadOnly) is { } refusal)
        {
            throw new InvalidImageException(refusal);
        }

        if (Class is QemuDriverClass.ProtocolWithCreate or QemuDriverClass.ProtocolWithoutCreate or QemuDriverClass.ReadOnlyProtocol)
        {
            throw NotSupported();
        }

        // A file-based driver: its file is opened first, so the file's own failure is the one reported.
        using var file = IO.Storage.Open(path, writable: false, options.LockFor(path, formatOwnsFile: true));
        if (Class == QemuDriverClass.FormatWithoutCreate && !options.ReadOnly)
        {
            throw new ImageAccessException("Image is read-only");
        }

        throw NotSupported();
    }

    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        var refusal = ProtocolError(path, readOnly: false);
        if (Class == QemuDriverClass.ProtocolWithoutCreate)
        {
            throw new ImageAccessException(QemuFormatNames.OpenInsteadOfCreatePrefix(Name) + (refusal ?? $"Driver '{Name}' is not supported"));
        }

        throw refusal is null ? NotSupported() : new ImageAccessException(refusal);
    }

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Keys.FirstOrDefault(k => k != "size") is { } key)
        {
            throw new InvalidOptionException($"Invalid parameter '{key}'");
        }

        return new ImageCreateOptions { Size = size ?? (options.TryGetValue("size", out var text) ? Options.SizeText.ParseOption("size", text) : null) };
    }

    /// <summary>What the driver says of a name it cannot take, or null when it would go on with it.</summary>
    private string? ProtocolError(string path, bool readOnly) => Name switch
    {
        "iscsi" or "iser" => path.StartsWith(Name + "://", StringComparison.Ordinal) ? null : $"Failed to parse URL : {path}",
        "nvme" => path.StartsWith("nvme://", StringComparison.Ordinal) ? null : "'device' option is required",
        "gluster" => path.StartsWith("gluster", StringComparison.Ordinal) && path.Contains("://", StringComparison.Ordinal) ? null : $"invalid URI {path}\n{GlusterUsage}",
        "nfs" or "ssh" => path.StartsWith(Name + "://", StringComparison.Ordinal) ? null : $"URI scheme must be '{Name}'",
        "rbd" => path.StartsWith("rbd:", StringComparison.Ordinal) ? null : "File name must start with 'rbd:'",
        "vvfat" => path.StartsWith("fat:", StringComparison.Ordinal) ? null : "File name string must start with 'fat:'",
        "http" or "https" or "ftp" or "ftps" => !readOnly ? "curl driver does not support writes"
            : path.StartsWith(Name + "://", StringComparison.Ordinal) ? null
            : $"{Name} curl driver cannot handle the URL '{path}' (does not start with '{Name}://')",
        _ => null,
    };

    private UnsupportedFeatureException NotSupported() => new($"The '{Name}' driver is not supported");
}
