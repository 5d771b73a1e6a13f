namespace DiskImage.Formats.Foreign;

/// <summary>
/// A driver qemu-img 7.2 has and this library does not implement (a remote protocol such as gluster or rbd).
/// Naming it fails as qemu-img fails: the protocol refuses a name it cannot parse in its own words (gluster also
/// when no management daemon answers). Where qemu-img would go on (a URL the protocol takes), this says the driver is
/// not supported rather than pretend. Never chosen by probing.
/// </summary>
internal sealed class ForeignDriverFormat : IImageFormat
{
    /// <summary>One for every qemu-img driver name the library has no implementation of.</summary>
    public static IReadOnlyList<ForeignDriverFormat> All { get; } =
    [
        .. new[] { "gluster", "rbd", "nvme" }
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

        // A name the protocol takes: qemu-img would connect; this library has no such client.
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
        "nvme" => path.StartsWith("nvme://", StringComparison.Ordinal) ? null : "'device' option is required",
        "gluster" => GlusterRefusal(path),
        "rbd" => path.StartsWith("rbd:", StringComparison.Ordinal) ? null : "File name must start with 'rbd:'",
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
