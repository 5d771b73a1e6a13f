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

    /// <summary>QEMU's ssh driver: a file on an SSH server, read and written over SFTP.</summary>
    public static ProtocolFormat Ssh { get; } = new("ssh");

    /// <summary>QEMU's nfs driver: a file on an NFS v3 server.</summary>
    public static ProtocolFormat Nfs { get; } = new("nfs");

    /// <summary>QEMU's iscsi driver: a LUN of an iSCSI target.</summary>
    public static ProtocolFormat Iscsi { get; } = new("iscsi");

    /// <summary>QEMU's iser driver: iSCSI over RDMA, which has no transport here (it fails to connect, as QEMU without an RDMA device).</summary>
    public static ProtocolFormat Iser { get; } = new("iser");

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

    /// <summary>
    /// <c>file</c> creates a plain file, as a raw image, and <c>ssh</c> a file on the server. The others have no creation of their own: as qemu-img, they
    /// get past its checks and its Formatting line, then try to open the target instead, and refuse.
    /// </summary>
    public bool CanCreate => true;

    public bool SupportsBackingFiles => false;

    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (NameError(path, forWriting: !options.ReadOnly) is { } refusal)
        {
            throw new InvalidImageException(refusal);
        }

        // The device drivers take every name as a host path: an nbd: or ssh:// name is a file that is not there.
        var file = this == HostDevice || this == HostCdrom
            ? IO.HostFile.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: false))
            : IO.Storage.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: false));
        file.IgnoreFlushes = options.IgnoreFlushes;
        return new RawImage(file, options, this)
        {
            MediumCheck = this == HostCdrom && file is IO.HostFile host ? () => IO.CdromCalls.HasDisc(host.Handle) : null,
        };
    }

    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if ((this == Ssh || this == Nfs) && NameError(path) is { } uriError)
        {
            // The ssh driver creates: its own complaint about the name, without the open-instead prefix.
            throw new ImageAccessException(uriError);
        }

        if (this == File || this == Ssh || this == Nfs)
        {
            RawFormat.Instance.Create(path, options);
            return;
        }

        var prefix = QemuFormatNames.OpenInsteadOfCreatePrefix(Name);
        if (NameError(path, forWriting: true) is { } refusal)
        {
            throw new ImageAccessException(prefix + refusal);
        }

        if (this == Nbd || this == Iscsi || this == Iser)
        {
            CreateOnExport(path, options.Size ?? 0, (options as RawCreateOptions)?.Preallocation ?? Preallocation.Off, prefix, this == Nbd ? "NBD nodes" : "iSCSI devices");
            return;
        }

        RawDeviceTarget.Create(path, options.Size ?? 0, (options as RawCreateOptions)?.Preallocation ?? Preallocation.Off, Name);
    }

    /// <summary>Creation on an iSCSI LUN, as the fallback for a driver without creation does it (raw's creation calls it too).</summary>
    internal void CreateOnLun(string path, long size, Preallocation preallocation) =>
        CreateOnExport(path, size, preallocation, QemuFormatNames.OpenInsteadOfCreatePrefix(Name), "iSCSI devices");

    /// <summary>
    /// As QEMU's fallback for a protocol without creation: the export is opened for writing, must be at least the
    /// size asked for (an export cannot grow), and its first sector is zeroed so no old header shows through.
    /// </summary>
    private static void CreateOnExport(string path, long size, Preallocation preallocation, string prefix, string what)
    {
        if (preallocation != Preallocation.Off)
        {
            throw new InvalidOptionException($"Unsupported preallocation mode '{preallocation.ToString().ToLowerInvariant()}'");
        }

        IO.IStorage export;
        try
        {
            export = IO.Storage.Open(path, writable: true);
        }
        catch (DiskImageException e)
        {
            e.PrependContext(prefix);
            throw;
        }

        using (export)
        {
            if (size > export.Length)
            {
                throw new ImageAccessException($"Cannot grow {what}");
            }

            var clear = (int)Math.Min(export.Length, 512);
            if (clear > 0)
            {
                export.Write(0, new byte[clear]);
                export.Flush();
            }
        }
    }

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        RawFormat.Instance.ParseCreateOptions(size, options);

    /// <summary>What the driver says of a name it cannot take: nbd a name without its prefix, the device drivers a file that is no device.</summary>
    private string? NameError(string path, bool forWriting = false)
    {
        if (this == Nbd)
        {
            return global::DiskImage.Nbd.Client.NbdUri.IsNbd(path) || path.StartsWith("nbd:", StringComparison.Ordinal) ? null
                : path.Contains("://", StringComparison.Ordinal) ? "No valid URL specified"
                : "File name string for NBD must start with 'nbd:'";
        }

        if (this == Ssh)
        {
            return Options.SshNode.IsSshUri(path) ? null : "URI scheme must be 'ssh'";
        }

        if (this == Nfs)
        {
            return IO.Nfs.NfsUrl.IsNfs(path) ? null : "URI scheme must be 'nfs'";
        }

        if (this == Iscsi || this == Iser)
        {
            return IO.Iscsi.IscsiNode.IsIscsi(path) ? null : $"Failed to parse URL : {path}";
        }

        if (this == File || !IO.FileStatCalls.TryStat(path, out _, out _, out var kind) || kind is IO.FileKind.CharacterDevice or IO.FileKind.BlockDevice)
        {
            return null;
        }

        // A writable open (creation's too) opens the file first, which a directory refuses before its kind is looked at.
        return kind == IO.FileKind.Directory && forWriting ? $"Could not open '{path}': Is a directory"
            : $"'{Name}' driver requires '{path}' to be either a character or block device";
    }
}
