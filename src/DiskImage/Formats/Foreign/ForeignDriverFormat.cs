namespace DiskImage.Formats.Foreign;

/// <summary>
/// A driver qemu-img 7.2 has and this library does not implement (a remote protocol such as iscsi or gluster, vvfat, a
/// filter such as blkdebug). Naming it fails as qemu-img fails when it cannot open the input: a file-based driver first opens its file (so a missing file, a
/// directory or an unreachable NBD server is reported as qemu-img reports it), then refuses in the driver's own
/// words; a protocol refuses a name it cannot parse. Where qemu-img would go on (a real image of the format, a URL
/// the protocol takes), this says the driver is not supported rather than pretend. Never chosen by probing.
/// </summary>
internal sealed class ForeignDriverFormat : IImageFormat
{
    /// <summary>One for every qemu-img driver name the library has no implementation of.</summary>
    public static IReadOnlyList<ForeignDriverFormat> All { get; } =
    [
        .. new[] { "vvfat", "gluster", "nfs", "rbd", "iscsi", "iser", "nvme", "ftp", "ftps" }
            .Concat(QemuFormatNames.All.Where(n => QemuFormatNames.ClassOf(n) == QemuDriverClass.Filter && n is not ("null-co" or "null-aio")))
            .Select(n => new ForeignDriverFormat(n)),
    ];

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

        if (Name == "blkverify" && !path.StartsWith("blkverify:", StringComparison.Ordinal))
        {
            // blkverify looks for its raw child before it opens anything.
            throw new InvalidImageException("A block device must be specified for \"raw\"");
        }

        // A file-based driver: its file is opened first, so the file's own failure is the one reported.
        using var file = IO.Storage.Open(path, writable: false, options.LockFor(path, formatOwnsFile: true));
        if (Class == QemuDriverClass.FormatWithoutCreate && !options.ReadOnly)
        {
            throw new ImageAccessException("Image is read-only");
        }

        if (FilterRefusal(options.ReadOnly) is { } missing)
        {
            throw new InvalidImageException(missing);
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

    /// <summary>
    /// What a filter says when it is given only a file, as <c>-f</c> gives it: the options it cannot do without are
    /// missing (copy-on-read refuses a read-only node only). Null where QEMU would go on as the filter.
    /// </summary>
    private string? FilterRefusal(bool readOnly) => Name switch
    {
        "blklogwrites" => "A block device must be specified for \"log\"",
        "compress" => "Compression is not supported for underlying format: file",
        "copy-before-write" => "Parameter 'target' is missing",
        "quorum" => "Number of provided children must be 1 or more",
        "replication" => "Missing the option mode",
        "throttle" => "Please specify a throttle group",
        "copy-on-read" when readOnly => "Block node is read-only",
        _ => null,
    };

    /// <summary>What the driver says of a name it cannot take, or null when it would go on with it.</summary>
    private string? ProtocolError(string path, bool readOnly) => Name switch
    {
        "iscsi" or "iser" => path.StartsWith(Name + "://", StringComparison.Ordinal) ? null : $"Failed to parse URL : {path}",
        "nvme" => path.StartsWith("nvme://", StringComparison.Ordinal) ? null : "'device' option is required",
        "gluster" => GlusterRefusal(path),
        "nfs" => path.StartsWith(Name + "://", StringComparison.Ordinal) ? null : $"URI scheme must be '{Name}'",
        "rbd" => path.StartsWith("rbd:", StringComparison.Ordinal) ? null : "File name must start with 'rbd:'",
        "vvfat" => path.StartsWith("fat:", StringComparison.Ordinal) ? null : "File name string must start with 'fat:'",
        "ftp" or "ftps" => !readOnly ? "curl driver does not support writes"
            : path.StartsWith(Name + "://", StringComparison.Ordinal) ? null
            : $"{Name} curl driver cannot handle the URL '{path}' (does not start with '{Name}://')",
        _ => null,
    };

    /// <summary>
    /// gluster's complaint: a name it cannot read as a location, or a management daemon it cannot reach (a plain
    /// absolute path is a volume and path on localhost). Where one answers, QEMU would go on; this does not.
    /// </summary>
    private static string? GlusterRefusal(string path)
    {
        if (GlusterLocation.Parse(path) is not { } location)
        {
            return GlusterLocation.InvalidName(path);
        }

        if (location.Rdma)
        {
            ImageWarnings.Report("warning: rdma feature is not supported, falling back to tcp");
        }

        if (!location.HasValidVolume || location is { IsUnix: true, Socket: null })
        {
            // A volume name gluster refuses, or "?socket" without a value: gluster fails without a message of its own.
            return $"Could not open '{path}': Invalid argument";
        }

        return location.IsReachable() ? null : location.ConnectionFailure();
    }

    private UnsupportedFeatureException NotSupported() => new($"The '{Name}' driver is not supported");
}
