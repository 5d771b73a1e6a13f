namespace DiskImage.Formats;

/// <summary>
/// The formats the library knows, registered explicitly (no reflection scanning), and probing
/// among them. Raw is the fallback for anything no other format claims.
/// </summary>
public sealed partial class ImageFormatRegistry
{
    private readonly List<IImageFormat> _formats = [];

    /// <summary>The registry with every built-in format.</summary>
    public static ImageFormatRegistry Default { get; } = CreateDefault();

    /// <summary>Formats in registration order.</summary>
    public IReadOnlyList<IImageFormat> Formats => _formats;

    /// <summary>Adds a format. Names must be unique.</summary>
    public void Register(IImageFormat format)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (TryGet(format.Name, out _))
        {
            throw new ArgumentException($"A format named '{format.Name}' is already registered.", nameof(format));
        }

        _formats.Add(format);
    }

    /// <summary>Finds a format by name (case-insensitive).</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IImageFormat? format)
    {
        format = _formats.Find(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
        return format is not null;
    }

    /// <summary>Finds a format by name or throws <see cref="UnknownFormatException"/> in qemu-img's words.</summary>
    public IImageFormat Get(string name) =>
        TryGet(name, out var format) ? format : throw new UnknownFormatException($"Unknown driver '{name}'");

    /// <summary>The largest header any registered format needs for probing.</summary>
    public int ProbeHeaderSize => _formats.Count == 0 ? 0 : _formats.Max(f => f.ProbeHeaderSize);

    /// <summary>Picks the format with the highest probe score; raw when nothing claims the bytes.</summary>
    public IImageFormat Probe(ReadOnlySpan<byte> header, long fileLength) => Probe(header, fileLength, null);

    /// <summary>Probes the bytes and, for the formats that look at it (<see cref="IFileNameProbe"/>), the file's name.</summary>
    internal IImageFormat Probe(ReadOnlySpan<byte> header, long fileLength, string? fileName)
    {
        IImageFormat? best = null;
        var bestScore = 0;
        foreach (var format in _formats)
        {
            var score = format.Probe(header, fileLength);
            if (fileName is not null && format is IFileNameProbe byName)
            {
                score = Math.Max(score, byName.ProbeFileName(fileName));
            }

            if (score > bestScore)
            {
                best = format;
                bestScore = score;
            }
        }

        return best ?? Get("raw");
    }

    /// <summary>
    /// Opens the storage to probe. An NFS node's warnings (options over QEMU's caps) are printed by the open that
    /// follows, once as QEMU prints them; they are replayed here only when this open fails.
    /// </summary>
    private static IO.IStorage OpenForProbe(string path)
    {
        if (!IO.Nfs.NfsUrl.IsNfs(path))
        {
            return IO.Storage.Open(path, writable: false);
        }

        var held = new List<string>();
        try
        {
            using (ImageWarnings.Listen(held.Add))
            {
                return IO.Storage.Open(path, writable: false);
            }
        }
        catch
        {
            held.ForEach(ImageWarnings.Report);
            throw;
        }
    }

    /// <summary>The refusal of a writable open by the read-only driver on top of a <c>json:</c> name, or null.</summary>
    private static string? ReadOnlyDriverRefusal(string json)
    {
        var driver = Options.JsonFilename.Parse(json).LastOrDefault(o => o.Key == "driver").Value.Text;
        return driver switch
        {
            "bochs" or "cloop" or "dmg" => "Image is read-only",
            "http" or "https" or "ftp" or "ftps" => IO.Curl.CurlStorage.WriteRefusal,
            _ => null,
        };
    }

    /// <summary>Reads the start of <paramref name="path"/> and probes it.</summary>
    public IImageFormat Probe(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Options.JsonFilename.IsJson(path))
        {
            // A json: name names its driver, or the file whose bytes are probed.
            var spec = Options.BlockSpec.FromJson(path);
            using var curl = IO.Curl.CurlStorage.Given(spec.Curl);
            using var ssh = Options.SshNode.Given(spec.Ssh);
            return spec.Protocol is { } protocol ? Raw.ProtocolFormat.ForHostDriver(protocol) : spec.Driver is { } driver ? Get(driver) : Probe(spec.Filename);
        }

        if (Vvfat.VvfatName.IsVvfat(path))
        {
            // A directory's FAT disk starts with an MBR or a boot sector, which only raw takes; not built twice.
            return Get("raw");
        }

        using var file = OpenForProbe(IO.FileProtocolPrefix.Strip(path));
        var header = new byte[(int)Math.Min(ProbeHeaderSize, file.Length)];
        try
        {
            file.Read(0, header);
        }
        catch (IOException e) when (file is IO.Nfs.NfsStorage)
        {
            throw new ImageAccessException($"Could not read image for determining its format: {e.Message}", e);
        }

        // An empty file is raw whatever its name, as QEMU's probe decides before asking any driver.
        return Probe(header, file.Length, file.Length == 0 ? null : IO.FileProtocolPrefix.Strip(path));
    }

    /// <summary>
    /// Opens an image, probing its format when <paramref name="formatName"/> is null. A probed raw
    /// image is opened with <see cref="ImageOpenOptions.FormatWasProbed"/> set.
    /// </summary>
    public IDiskImage Open(string path, string? formatName, ImageOpenOptions? options = null)
    {
        options ??= new ImageOpenOptions();
        options = options with { Registry = options.Registry ?? this };
        try
        {
            if (Options.JsonFilename.IsJson(path))
            {
                Options.BlockSpec spec;
                try
                {
                    spec = Options.BlockSpec.FromJson(path);
                }
                catch (InvalidOptionException) when (!options.ReadOnly && ReadOnlyDriverRefusal(path) is { } refusal)
                {
                    // A read-only driver refuses a writable open before it reads any of its options or opens its file.
                    throw new ImageAccessException(refusal);
                }

                using var curl = IO.Curl.CurlStorage.Given(spec.Curl);
                using var ssh = Options.SshNode.Given(spec.Ssh);
                return OpenSpec(spec, formatName, options);
            }

            // An explicit file: prefix names the same file; the image reports the name without it, as QEMU's.
            var file = IO.FileProtocolPrefix.Strip(path);
            if (options.DirectIo && IO.Nfs.NfsUrl.IsNfs(file))
            {
                IO.Nfs.NfsNode.RefuseCachesWithDirectIo(IO.Nfs.NfsNode.FromUrl(file));
            }
            if (formatName is "null-co" or "null-aio" && file != formatName + "://")
            {
                // A null node has no file: the only name its driver takes is its own URL.
                throw new InvalidImageException($"The only allowed filename for this driver is '{formatName}://'");
            }

            if (formatName is "host_device" or "host_cdrom" && file.StartsWith(formatName + ":", StringComparison.Ordinal))
            {
                // The device drivers take their own prefix as optional, as the file driver takes "file:".
                file = file[(formatName.Length + 1)..];
            }

            if (formatName == "blkverify" && file.StartsWith(IO.Blkverify.BlkverifyName.Prefix, StringComparison.Ordinal))
            {
                // The blkverify node itself as the image: its bytes are the disk, named by the driver.
                return OpenBlkverify(file, formatName, options);
            }

            if (formatName == "blkdebug")
            {
                // The debug node above the image the name gives (QEMU's x-image, probed), as a json: name opens it.
                return OpenSpec(Options.BlockSpec.FromJson(IO.Blkdebug.BlkdebugName.TopNodeJson(file)), null, options);
            }

            if (formatName is null or "raw" or "qcow2" or "qcow" or "vmdk" or "vdi" or "vhdx" or "vpc" or "qed" or "parallels" or "bochs" or "cloop" or "dmg" or "luks"
                && file == path && IO.ProtocolName.Of(file) is { } protocol)
            {
                // An image format's file is opened by the protocol driver the name's prefix picks, as in QEMU.
                if (!IO.ProtocolName.IsKnown(protocol))
                {
                    throw new InvalidOptionException($"Unknown protocol '{protocol}'");
                }

                if (OpenPrefixedNode(file, protocol, formatName, options) is { } node)
                {
                    return node;
                }

                if (IO.ProtocolName.RemoteDriver(protocol) is { } remote)
                {
                    // Those drivers never yield a node here (a failed connection, or the refusal of a driver this
                    // library lacks), so the format that would go over it is never reached.
                    return Get(remote).Open(file, options with { FormatWasProbed = false });
                }
            }

            if (IO.Iscsi.IscsiNode.IsIscsi(file) && formatName is not ("iscsi" or "iser"))
            {
                // QEMU names an image on a LUN by its format and the iscsi node's options.
                IImageFormat onLun;
                using (ImageWarnings.Listen(_ => { }))
                {
                    // The probe's own connection repeats the open's warnings; QEMU connects once and says them once.
                    onLun = formatName is null ? Probe(file) : Get(formatName);
                }

                var node = IO.Iscsi.IscsiNode.FromName(file);
                var name = Options.JsonFilename.Prefix + Options.QemuJson.Object([new("driver", Options.QemuJson.String(onLun.Name)), new("file", node.NodeObject)]);
                return onLun.Open(file, options with { FormatWasProbed = formatName is null, StackedDisplayName = options.StackedDisplayName ?? name });
            }

            if (formatName is not null)
            {
                return Get(formatName).Open(file, options with { FormatWasProbed = false });
            }

            RefuseDirectoryForWriting(file, options.ReadOnly);
            return Probe(file).Open(file, options with { FormatWasProbed = true });
        }
        catch (DiskImageException e) when (options.OpeningChain.Count == 0)
        {
            // As qemu-img: the image named by the caller leads the message; backing files add their own context.
            e.PrependContext($"Could not open '{path}': ");
            throw;
        }
    }

    /// <summary>
    /// Opens what a <c>json:</c> file name describes: its file, in the named (or probed) format, with its
    /// key secret, locking options, raw window and <c>"backing": null</c> applied. <c>-f</c> wins over <c>driver</c>, as in qemu-img.
    /// </summary>
    private IDiskImage OpenSpec(Options.BlockSpec spec, string? formatName, ImageOpenOptions options)
    {
        var window = spec.RawOffset is null && spec.RawSize is null ? null : new Raw.RawWindow(spec.RawOffset ?? 0, spec.RawSize, spec.DisplayName);
        var opened = options with
        {
            KeySecret = spec.KeySecret ?? options.KeySecret,
            BackingKeySecret = spec.BackingKeySecret ?? options.BackingKeySecret,
            ForceShare = spec.ForceShare ?? options.ForceShare,
            Locking = spec.Locking ?? options.Locking,
            OpenBackingChain = options.OpenBackingChain && !spec.NoBacking,
            Window = window,
            TrustExtentPaths = spec.TrustExtentPaths || options.TrustExtentPaths,
            FileNode = spec.File is { } inner ? (outer, formatOwnsFile) => OpenFileNode(inner, outer, formatOwnsFile)
                : spec.Quorum is { } quorum ? (outer, formatOwnsFile) => OpenQuorum(quorum, outer, formatOwnsFile) : null,
            StackedDisplayName = spec.File is not null || spec.Quorum is not null || spec.BlkdebugInline || spec.LuksKeySecret is not null || spec.NamesKeySecret || spec.NullOptions.Count > 0 || spec.CurlNamedByJson || spec.FilterOptions.Count > 0 || spec.Driver is "null-co" or "null-aio" ? spec.DisplayName : null,
            Blkdebug = spec.BlkdebugRules,
            BackingFormat = spec.BackingDriver ?? options.BackingFormat,
            BackingPath = spec.BackingFilename ?? options.BackingPath,
            DirectIo = spec.CacheDirect ?? options.DirectIo,
            FormatOptions = spec.Qcow2Options.Count == 0 && spec.NullOptions.Count == 0 && spec.ParallelsOptions.Count == 0 && spec.VpcSizeCalc is null && spec.FilterOptions.Count == 0 ? options.FormatOptions
                : Merge(options.FormatOptions, spec.Qcow2Options, spec.NullOptions, spec.ParallelsOptions, spec.VpcSizeCalc is { } calc ? new Dictionary<string, string> { [Vpc.VpcImage.SizeCalcOption] = calc } : [],
                    spec.FilterOptions),
        };
        if (opened.DirectIo && IO.Nfs.NfsUrl.IsNfs(spec.Filename))
        {
            IO.Nfs.NfsNode.RefuseCachesWithDirectIo(IO.Nfs.NfsNode.FromUrl(spec.Filename));
        }

        if (spec.Quorum is not null && !opened.ReadOnly)
        {
            throw new UnsupportedFeatureException("Writing through a quorum node is not supported; open it read-only");
        }

        if ((spec.Protocol ?? spec.FileDeviceProtocol) is { } protocol)
        {
            CheckProtocolFile(protocol, spec.Filename, opened.ReadOnly);
        }

        var name = formatName ?? spec.Driver;
        if (name is null && spec.Protocol is null)
        {
            RefuseDirectoryForWriting(spec.Filename, opened.ReadOnly);
        }

        var format = spec.Protocol is { } hostDriver && name == hostDriver ? Raw.ProtocolFormat.ForHostDriver(hostDriver)
            : name is not null ? Get(name)
            : spec.File is { Driver: "null-co" or "null-aio" } ? Get("raw") // a null node's bytes are zeroes, which probe as raw
            : Probe(spec.Filename);
        if (spec.Protocol is { } topProtocol && format.Name != topProtocol && format is not Raw.ProtocolFormat)
        {
            // -f wins over the name's host protocol driver, and the format it names then has no file node under it.
            throw new InvalidOptionException("A block device must be specified for \"file\"");
        }

        if (window is not null && format is not Raw.RawFormat)
        {
            throw new InvalidOptionException($"Block format '{format.Name}' does not support the option '{(spec.RawOffset is not null ? "offset" : "size")}'");
        }

        if (spec.File is not null && format is not (Raw.RawFormat or Filters.FilterDriverFormat { Name: "throttle" or "blklogwrites" } or Qcow2.Qcow2Format or Vmdk.VmdkFormat or Vpc.VpcFormat or Vdi.VdiFormat or Vhdx.VhdxFormat or Qed.QedFormat or Qcow.QcowFormat))
        {
            throw new UnsupportedFeatureException($"Format '{format.Name}' over another format node is not supported; only raw, qcow2, vmdk, vpc, vdi, vhdx, qed and qcow are");
        }

        if (spec.Qcow2Options.Count > 0 && format is not Qcow2.Qcow2Format)
        {
            throw new InvalidOptionException($"Block format '{format.Name}' does not support the option '{spec.Qcow2Options.Keys.First()}'");
        }

        if (spec.TrustExtentPaths && format is not Vmdk.VmdkFormat)
        {
            throw new InvalidOptionException($"Block format '{format.Name}' does not support the option '{Options.BlockSpec.TrustExtentPathsKey}'");
        }

        if (spec.LuksKeySecret is not null && format is not Luks.LuksFormat && spec.KeySecret == spec.LuksKeySecret)
        {
            // The luks key is no other format's: that format opens as if it were not given (then refuses it below).
            opened = opened with { KeySecret = options.KeySecret };
        }

        var image = format.Open(spec.Filename, opened with { FormatWasProbed = name is null });
        if (spec.LuksKeySecret is not null && format is not Luks.LuksFormat)
        {
            // Without a driver the key waited for the probe; the block layer refuses it once another format opened.
            image.Dispose();
            throw new InvalidOptionException($"Block format '{format.Name}' does not support the option 'key-secret'");
        }

        // Rules of a blkdebug node above the format that the node's opening activates act on every guest request.
        return spec.TopBlkdebugRules is { } rules && rules.Any(r => r.Event == IO.Blkdebug.BlkdebugEvent.None)
            ? new IO.Blkdebug.BlkdebugImage(image, rules)
            : image;
    }

    /// <summary>
    /// The host protocol drivers take one kind of file each (<c>file</c> a regular file, <c>host_device</c> and
    /// <c>host_cdrom</c> a character or block device), refused in QEMU's words. A directory opened for writing is left
    /// to the open, which fails as QEMU's does (<c>Is a directory</c>) before the kind is looked at.
    /// </summary>
    private static void CheckProtocolFile(string protocol, string filename, bool readOnly)
    {
        if (!IO.FileStatCalls.TryStat(filename, out _, out _, out var kind) || (kind == IO.FileKind.Directory && !readOnly))
        {
            return;
        }

        if (protocol == "file" && kind != IO.FileKind.Regular)
        {
            throw new InvalidOptionException($"'file' driver requires '{filename}' to be a regular file");
        }

        if (protocol != "file" && kind is not (IO.FileKind.CharacterDevice or IO.FileKind.BlockDevice))
        {
            throw new InvalidOptionException($"'{protocol}' driver requires '{filename}' to be either a character or block device");
        }
    }

    /// <summary>
    /// QEMU opens an image's file for writing before it probes the format, and open(2) refuses a directory at once; a
    /// read-only probe would instead find it is no regular file.
    /// </summary>
    private static void RefuseDirectoryForWriting(string filename, bool readOnly)
    {
        if (!readOnly && IO.FileStatCalls.TryStat(filename, out _, out _, out var kind) && kind == IO.FileKind.Directory)
        {
            throw new ImageAccessException($"Could not open '{filename}': Is a directory");
        }
    }

    /// <summary>Option sets joined, a later one's key winning.</summary>
    private static Dictionary<string, string> Merge(params IReadOnlyDictionary<string, string>[] sets)
    {
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in sets.SelectMany(s => s))
        {
            merged[key] = value;
        }

        return merged;
    }

    /// <summary>
    /// Opens a stacked file node (a format whose guest data is the file of the format above it) with the outer
    /// open's access; its own backing chain is opened as for any image, and it takes the host file's lock.
    /// </summary>
    /// <remarks>
    /// A raw node (a window onto its file) is the file itself, shifted: the format above may grow it as it
    /// grows a host file when the window has no fixed size, as QEMU's raw driver passes growth through.
    /// </remarks>
    private IO.IStorage OpenFileNode(Options.BlockSpec inner, ImageOpenOptions outer, bool formatOwnsFile)
    {
        if (inner.Driver == "raw" && inner.File is null)
        {
            var file = IO.Storage.Open(inner.Filename, !outer.ReadOnly, (outer with { Locking = inner.Locking ?? outer.Locking }).LockFor(inner.Filename, formatOwnsFile));
            return inner.RawOffset is null && inner.RawSize is null
                ? file
                : Raw.WindowStorage.Open(file, new Raw.RawWindow(inner.RawOffset ?? 0, inner.RawSize, inner.DisplayName));
        }

        var options = outer with
        {
            Window = null,
            FileNode = null,
            StackedDisplayName = null,
            Blkdebug = null,
            MetadataOnly = false,
            FormatWasProbed = false,
        };
        return new Raw.ImageStorage(OpenSpec(inner, formatName: null, options));
    }

    /// <summary>A read-only quorum node over its children, each opened read-only with the outer open's lock.</summary>
    private static IO.IStorage OpenQuorum(Options.QuorumSpec quorum, ImageOpenOptions outer, bool formatOwnsFile)
    {
        var children = new List<IO.IStorage>();
        try
        {
            foreach (var child in quorum.Children)
            {
                children.Add(IO.Storage.Open(child, writable: false, outer.LockFor(child, formatOwnsFile)));
            }

            return new IO.Quorum.QuorumStorage(children, quorum.Threshold, Options.JsonFilename.Prefix + quorum.DisplayObject);
        }
        catch
        {
            children.ForEach(c => c.Dispose());
            throw;
        }
    }

    private static ImageFormatRegistry CreateDefault()
    {
        var registry = new ImageFormatRegistry();
        foreach (var format in BuiltInFormats.All)
        {
            registry.Register(format);
        }

        return registry;
    }
}
