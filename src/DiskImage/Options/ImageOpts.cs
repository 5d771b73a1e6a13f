namespace DiskImage.Options;

/// <summary>
/// qemu-img's <c>--image-opts</c> form of a file name:
/// <c>driver=qcow2,file.filename=PATH,encrypt.key-secret=ID[,backing.encrypt.key-secret=ID]</c>.
/// </summary>
public sealed record ImageOpts
{
    /// <summary><c>driver</c>: the format, or null to probe it.</summary>
    public string? Driver { get; init; }

    /// <summary><c>file.filename</c> (or <c>filename</c>): the image file.</summary>
    public required string Filename { get; init; }

    /// <summary><c>encrypt.key-secret</c> (or <c>backing.encrypt.key-secret</c>): id of the secret that unlocks the image and its backing files.</summary>
    public string? KeySecret { get; init; }

    /// <summary>Parses the option list, refusing keys that are not understood.</summary>
    public static ImageOpts Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var options = KeyValueOptions.Parse([text]);
        options.Remove("driver", out var driver);
        options.Remove("encrypt.key-secret", out var keySecret);

        // Backing files are unlocked with the image's own secret, so a backing secret must be that same one.
        if (options.Remove("backing.encrypt.key-secret", out var backingKeySecret) && keySecret is not null && backingKeySecret != keySecret)
        {
            throw new InvalidOptionException("'backing.encrypt.key-secret' must name the same secret as 'encrypt.key-secret'");
        }

        keySecret ??= backingKeySecret;
        options.Remove("encrypt.format", out _);
        string? filename = null;
        if (driver == "nbd")
        {
            // The nbd protocol as the top node: the export's bytes are the disk, and info names the format "nbd".
            filename = NbdFilename(options, "");
        }
        else if (options.Remove("file.driver", out var protocol) && protocol == "nbd")
        {
            filename = NbdFilename(options, "file.");
        }
        else if (protocol is not null && protocol != "file")
        {
            throw new InvalidOptionException($"Protocol driver '{protocol}' is not supported (only 'file' and 'nbd' are)");
        }

        if (filename is null && (options.Remove("file.filename", out var name) || options.Remove("filename", out name)))
        {
            filename = name;
        }

        if (options.Count > 0)
        {
            throw new InvalidOptionException($"Block format '{driver ?? "(probed)"}' does not support the option '{options.Keys.First()}'");
        }

        if (string.IsNullOrEmpty(filename))
        {
            throw new InvalidOptionException("A block device must be specified for \"file\"");
        }

        return new ImageOpts { Driver = driver, Filename = filename, KeySecret = keySecret };
    }

    /// <summary>qemu's nbd driver options (<c>server.type=unix|inet</c>, <c>server.path</c>, <c>server.host</c>, <c>server.port</c>, <c>export</c>) as a URI.</summary>
    private static string NbdFilename(Dictionary<string, string> options, string prefix)
    {
        if (options.Remove(prefix + "filename", out var uri))
        {
            return uri;
        }

        options.Remove(prefix + "server.type", out var type);
        options.Remove(prefix + "server.host", out var host);
        options.Remove(prefix + "server.port", out var port);
        options.Remove(prefix + "server.path", out var path);
        options.Remove(prefix + "export", out var export);
        options.Remove(prefix + "tls-creds", out var tlsCreds);
        return Nbd.Client.NbdUri.Format(type ?? (path is not null ? "unix" : "inet"), host, port, path, export, tlsCreds);
    }
}
