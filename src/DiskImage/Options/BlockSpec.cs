using System.Diagnostics;
using System.Globalization;
using DiskImage.IO;

namespace DiskImage.Options;

/// <summary>
/// One image described by QEMU's block options, whether spelled as a <c>json:{...}</c> file name or as an
/// <c>--image-opts</c> dotted list: the format driver, the file underneath (a host file or an NBD export),
/// the raw driver's window (<c>offset</c>/<c>size</c>), the key secret, and the locking options.
/// </summary>
internal sealed record BlockSpec
{
    /// <summary>The key that lets a VMDK descriptor name extent files outside its directory.</summary>
    public const string TrustExtentPathsKey = "trust-extent-paths";

    /// <summary>Prefix of the protocol node's options.</summary>
    private const string FilePrefix = "file.";

    /// <summary>QEMU's wording for an unparsable size, on three lines as qemu-img prints it.</summary>
    private const string SizeHint = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.";

    /// <summary><c>driver</c>: the format; null to probe.</summary>
    public string? Driver { get; init; }

    /// <summary>
    /// A protocol driver as the top node (<c>file</c>, <c>host_device</c>, <c>host_cdrom</c>): the file's bytes are the
    /// disk, as under the raw format, and the file must be of the kind the driver takes. Null otherwise.
    /// </summary>
    public string? Protocol { get; init; }

    /// <summary>
    /// The host device driver of the image's file node (<c>host_device</c>, <c>host_cdrom</c>), whose file must be a
    /// character or block device; null for a plain file node or none.
    /// </summary>
    public string? FileDeviceProtocol { get; init; }

    /// <summary>The host file or NBD URI holding the image.</summary>
    public required string Filename { get; init; }

    /// <summary><c>encrypt.key-secret</c>.</summary>
    public string? KeySecret { get; init; }

    /// <summary>
    /// <c>backing.encrypt.key-secret</c>: the secret that unlocks the backing file, which may differ from the image's
    /// own; null when the backing file is unlocked with <see cref="KeySecret"/>.
    /// </summary>
    public string? BackingKeySecret { get; init; }

    /// <summary>
    /// Whether this node's own <c>encrypt.key-secret</c> was given: QEMU counts it among qcow2's options that shape
    /// the image's name, so the image is then named by its JSON description.
    /// </summary>
    public bool NamesKeySecret { get; init; }

    /// <summary>The luks driver's <c>key-secret</c>, if given (QEMU then names the image by its JSON description).</summary>
    public string? LuksKeySecret { get; init; }

    /// <summary>The raw driver's <c>offset</c>, if given.</summary>
    public long? RawOffset { get; init; }

    /// <summary>The raw driver's <c>size</c>, if given.</summary>
    public long? RawSize { get; init; }

    /// <summary><c>force-share</c>, if given.</summary>
    public bool? ForceShare { get; init; }

    /// <summary>
    /// <c>cache.direct</c>, if given: QEMU then opens the file with <c>O_DIRECT</c>, and requests to it are aligned to
    /// the alignment it probes (its block status is reported in whole aligned blocks).
    /// </summary>
    public bool? CacheDirect { get; init; }

    /// <summary><c>file.locking</c>, if given.</summary>
    public ImageLocking? Locking { get; init; }

    /// <summary>
    /// <c>trust-extent-paths</c> (a DiskImage key, not QEMU's): a VMDK descriptor may name extent files outside its
    /// directory, as QEMU always allows.
    /// </summary>
    public bool TrustExtentPaths { get; init; }

    /// <summary>
    /// The format node under this one (<c>file.driver</c> naming a format, such as a raw window with qcow2 on top,
    /// or qcow2 inside qcow2): this node's format reads that node's guest data as its file. Null for a plain file.
    /// </summary>
    public BlockSpec? File { get; init; }

    /// <summary>
    /// The rules of a <c>blkdebug</c> node between the format and its file (<c>file.driver=blkdebug</c>, its rules given
    /// as <c>inject-error</c>/<c>set-state</c> options or in a <c>config</c> file); null when there is no such node.
    /// </summary>
    public IReadOnlyList<IO.Blkdebug.BlkdebugRule>? BlkdebugRules { get; init; }

    /// <summary>A <c>quorum</c> file node (<c>file.driver=quorum</c>): its children and vote threshold; null otherwise.</summary>
    public QuorumSpec? Quorum { get; init; }

    /// <summary>
    /// Whether the <c>blkdebug</c> file node was given rules or limits inline (not only a config file): QEMU then names
    /// the image by its JSON description, as no plain file name says the same.
    /// </summary>
    public bool BlkdebugInline { get; init; }

    /// <summary>
    /// A <c>blkdebug</c> node above the format (<c>driver=blkdebug</c>, the format as its <c>image</c>): its request
    /// limits, which decide how write-zeroes and discard requests reach the format. Null when there is none.
    /// </summary>
    public IO.Blkdebug.BlkdebugLimits? TopBlkdebugLimits { get; init; }

    /// <summary>
    /// The rules of a <c>blkdebug</c> node above the format, all raised by copy-on-read (<c>cor_write</c>): the copies
    /// copy-on-read writes through the node are checked against them. Null when there are none.
    /// </summary>
    public IReadOnlyList<IO.Blkdebug.BlkdebugRule>? TopBlkdebugRules { get; init; }

    /// <summary>QEMU's file name for a <c>blkdebug</c> node above the format (what <c>qemu-img info</c> shows); null when there is none.</summary>
    public string? TopBlkdebugName { get; init; }

    /// <summary>The options of a <c>null-co</c>/<c>null-aio</c> node: <c>size</c> in bytes, <c>read-zeroes</c> as on/off.</summary>
    public IReadOnlyDictionary<string, string> NullOptions { get; init; } = NoOptions;

    /// <summary><c>backing.driver</c>: the backing file's format, overriding the one the image names.</summary>
    public string? BackingDriver { get; init; }

    /// <summary>
    /// <c>backing.file.filename</c> (or <c>backing.filename</c>): the backing file to open in place of the one the
    /// image's header names, as QEMU opens the backing node the options describe.
    /// </summary>
    public string? BackingFilename { get; init; }

    /// <summary><c>"backing": null</c>: open without the backing chain.</summary>
    public bool NoBacking { get; init; }

    /// <summary>
    /// qcow2's runtime options given for this node (its metadata cache sizes, <c>cache-clean-interval</c>), with sizes
    /// already parsed to byte counts; refused at open time when the image turns out not to be qcow2.
    /// </summary>
    public IReadOnlyDictionary<string, string> Qcow2Options { get; init; } = NoOptions;

    /// <summary>
    /// The top filter's own options (the throttle driver's <c>throttle-group</c>, blklogwrites' log node and log
    /// options), as <see cref="Formats.Filters.FilterDriverFormat"/> reads them from its open's format options.
    /// </summary>
    public IReadOnlyDictionary<string, string> FilterOptions { get; init; } = NoOptions;

    /// <summary>vpc's <c>force_size_calc</c> (<c>current_size</c> or <c>chs</c>) given for this node; null for none.</summary>
    public string? VpcSizeCalc { get; init; }

    /// <summary>The Parallels driver's runtime options (<c>prealloc-mode</c>, <c>prealloc-size</c> in bytes) given for this node.</summary>
    public IReadOnlyDictionary<string, string> ParallelsOptions { get; init; } = NoOptions;

    /// <summary>One shared empty set, so descriptions without qcow2 options compare equal.</summary>
    private static readonly IReadOnlyDictionary<string, string> NoOptions = new Dictionary<string, string>();

    /// <summary>The name qemu-img prints for the image (its <c>image:</c> line): the file name, or JSON where options change what is read.</summary>
    public required string DisplayName { get; init; }

    /// <summary>Whether a curl node's options (other than its URL) make QEMU name the image by its JSON description.</summary>
    public bool CurlNamedByJson { get; init; }

    /// <summary>The options of the curl node (<c>http</c>, <c>https</c>) that holds the image, if one does.</summary>
    public IO.Curl.CurlOptions? Curl { get; init; }

    /// <summary>The ssh node given as options that holds the image, if one does; its ssh:// name reads back as it
    /// while the image opens (<see cref="SshNode.Given"/>).</summary>
    public SshTarget? Ssh { get; init; }

    /// <summary>Whether only driver, file name and key secret were given, so the plain file name says everything (an ssh
    /// node given as options does not: its name reads back as the node only within the open of its spec).</summary>
    public bool IsPlain => Protocol is null && FileDeviceProtocol is null && !IO.Iscsi.IscsiNode.IsIscsi(Filename) && !CurlNamedByJson && LuksKeySecret is null && !NamesKeySecret && BackingKeySecret is null && RawOffset is null && RawSize is null && ForceShare is null && CacheDirect is null && Locking is null && !NoBacking && !TrustExtentPaths && File is null && BlkdebugRules is null && Quorum is null && TopBlkdebugLimits is null && TopBlkdebugRules is null && Qcow2Options.Count == 0 && VpcSizeCalc is null && ParallelsOptions.Count == 0 && BackingDriver is null && BackingFilename is null && NullOptions.Count == 0
        && Ssh is null && FilterOptions.Count == 0;

    /// <summary>Deepest accepted stack of format nodes (each <c>file.driver</c> naming a format adds one).</summary>
    public const int MaxFormatNesting = 8;

    /// <summary>Formats that can sit on another format node; others are refused rather than misread.</summary>
    private static readonly HashSet<string> NestableFormats = new(StringComparer.Ordinal) { "raw", "qcow2", "vmdk", "vpc", "vdi", "vhdx", "qed", "qcow" };

    /// <summary>Format names that QEMU would accept as a file node but that this library cannot yet stack.</summary>
    private static readonly HashSet<string> OtherFormats = new(StringComparer.Ordinal) { "luks", "parallels", "bochs", "cloop", "dmg" };

    /// <summary>
    /// The key under which an open by a string name with options (qemu-io's <c>-f FMT -o ... NAME</c>) passes that name:
    /// QEMU opens the format's file child from it, reading its protocol prefix, unlike a <c>filename</c> option, which
    /// a format never reads.
    /// </summary>
    internal const string StringFilenameKey = "x-string-filename";

    /// <summary>QEMU 7.2's format and filter drivers that open a <c>file</c> child before anything else.</summary>
    private static readonly HashSet<string> FileChildDrivers = new(StringComparer.Ordinal)
    {
        "raw", "qcow2", "vmdk", "vpc", "vdi", "vhdx", "qed", "qcow", "luks", "parallels", "bochs", "cloop", "dmg",
        "throttle", "blklogwrites", "compress", "copy-on-read", "preallocate", "snapshot-access", "replication", "copy-before-write",
    };

    /// <summary>Options every node takes from the block layer itself, before its driver reads the rest.</summary>
    private static readonly HashSet<string> GenericNodeKeys = new(StringComparer.Ordinal)
    {
        "node-name", "read-only", "auto-read-only", "force-share", "cache.direct", "cache.no-flush", "discard", "detect-zeroes",
    };

    /// <summary>This node as the JSON object QEMU prints inside a generated <c>json:</c> name.</summary>
    private string DisplayObject { get; init; } = "";

    /// <summary>Parses a <c>json:{...}</c> file name.</summary>
    public static BlockSpec FromJson(string name) => FromOptions(JsonFilename.Parse(name));

    /// <summary>Parses an <c>--image-opts</c> list (every value a string, as QEMU sees them).</summary>
    public static BlockSpec FromDotted(string text)
    {
        var options = KeyValueOptions.Parse([text]);
        return FromOptions(options.Select(o => new KeyValuePair<string, JsonScalar>(o.Key, JsonScalar.String(o.Value))));
    }

    /// <summary>Interprets flattened options; keys nobody understands are refused in qemu-img's words.</summary>
    public static BlockSpec FromOptions(IEnumerable<KeyValuePair<string, JsonScalar>> flattened) => FromOptions(flattened, 0);

    /// <param name="flattened">The node's options.</param>
    /// <param name="nesting">How many format nodes are above this one.</param>
    /// <param name="filenameIsString">Whether the file name came as a string (blkdebug's x-image), which QEMU reads for
    /// its protocol prefix; a <c>filename</c> option is a literal host file name (<see cref="LiteralFileName"/>).</param>
    private static BlockSpec FromOptions(IEnumerable<KeyValuePair<string, JsonScalar>> flattened, int nesting, bool filenameIsString = false)
    {
        var options = new Dictionary<string, JsonScalar>(StringComparer.Ordinal);
        foreach (var (key, value) in flattened)
        {
            options[key] = value;
        }

        var driver = Take(options, "driver");
        if (driver is not null && !Formats.QemuFormatNames.IsKnown(driver) && !Formats.ImageFormatRegistry.Default.TryGet(driver, out _))
        {
            // QEMU looks the driver up before anything else of the node.
            throw new UnknownFormatException($"Unknown driver '{driver}'");
        }

        if (driver is not null && !FileChildDrivers.Contains(driver) && driver is not ("nbd" or "http" or "https" or "ftp" or "ftps" or "blkverify" or "quorum")
            && options.Remove(StringFilenameKey, out var stringFilename))
        {
            // A protocol driver opened by a string name reads it as its own filename, as QEMU's drivers parse it.
            options["filename"] = stringFilename;
        }

        if (driver == "blkdebug")
        {
            return TopBlkdebug(options, nesting);
        }

        if (IsHostProtocol(driver))
        {
            return TopProtocol(options, driver!);
        }

        if (driver is "http" or "https" or "ftp" or "ftps")
        {
            return TopCurl(options, driver);
        }

        if (driver is "ssh" or "nfs")
        {
            // The block layer's own options go first; the rest are the protocol driver's.
            var topCacheDirect = driver == "nfs" ? TakeBool(options, "cache.direct") : null;
            foreach (var generic in GenericNodeKeys)
            {
                options.Remove(generic);
            }

            var given = options.ToDictionary(o => o.Key, o => o.Value.Text, StringComparer.Ordinal);
            var target = driver == "ssh" ? SshNode.Parse(given) : null;
            var uri = target is not null ? SshNode.NameOf(target) : IO.Nfs.NfsNode.NameOf(IO.Nfs.NfsNode.Parse(given));
            return new BlockSpec
            {
                Ssh = target,
                Driver = driver,
                Filename = uri,
                DisplayName = uri,
                DisplayObject = QemuJson.Object([new("driver", QemuJson.String(driver)), new("filename", QemuJson.String(uri))]),
                CacheDirect = topCacheDirect,
            };
        }

        if (driver is "iscsi" or "iser")
        {
            // The block layer's own options go first; the rest are the iscsi driver's.
            foreach (var generic in GenericNodeKeys)
            {
                options.Remove(generic);
            }

            var node = IO.Iscsi.IscsiNode.Parse([new("driver", JsonScalar.String(driver)), .. options]);
            return new BlockSpec
            {
                Driver = driver,
                Filename = IO.Iscsi.IscsiNode.NameOf(node),
                DisplayName = node.NodeName,
                DisplayObject = node.NodeObject,
            };
        }

        var hasFile = options.Keys.Any(k => k.StartsWith(FilePrefix, StringComparison.Ordinal));
        if (MissingFirstChild(driver, options) is { } missingChild)
        {
            // A format or filter opens its first child before anything else, and never from its own "filename" option.
            throw new InvalidOptionException(missingChild);
        }

        if (options.TryGetValue("file", out var fileReference))
        {
            // A string "file" names another node, which a single command line never defines.
            throw new InvalidOptionException($"Cannot find device='{fileReference.Text}' nor node-name='{fileReference.Text}'");
        }

        if (driver is null && !hasFile)
        {
            throw new InvalidOptionException("Must specify either driver or file");
        }

        var keySecret = Take(options, "encrypt.key-secret");
        var backingKeySecret = Take(options, "backing.encrypt.key-secret");
        var namesKeySecret = keySecret is not null && driver is null or "qcow2";

        // The luks driver names its secret "key-secret"; QEMU counts it among the options that shape the image's name.
        // Without a driver it waits for the probe: luks takes it, any other format refuses it.
        var luksKeySecret = driver is "luks" or null ? Take(options, "key-secret") : null;
        keySecret ??= luksKeySecret;
        Take(options, "encrypt.format");
        var noBacking = options.Remove("backing", out var backing) && IsNoBacking(backing, driver);
        var forceShare = Take(options, "force-share") is { } share ? KeyValueOptions.ParseBool("force-share", share) : (bool?)null;
        var locking = Take(options, "file.locking") is { } lockingText ? ParseLocking(lockingText) : (ImageLocking?)null;
        var cacheDirect = TakeBool(options, "cache.direct") ?? TakeBool(options, "file.cache.direct");

        // cache.no-flush only lets QEMU skip flushes; flushing anyway is the safe side, so it is checked for form only.
        _ = TakeBool(options, "cache.no-flush") ?? TakeBool(options, "file.cache.no-flush");
        var trustExtentPaths = driver is null or "vmdk" && Take(options, TrustExtentPathsKey) is { } trust && KeyValueOptions.ParseBool(TrustExtentPathsKey, trust);

        var qcow2Options = driver is null or "qcow2" ? TakeQcow2Options(options) : NoOptions;
        var vpcSizeCalc = driver is "vpc" ? Take(options, "force_size_calc") : null;
        var throttleGroup = driver is "throttle" ? Take(options, "throttle-group") : null;
        var filterOptions = new Dictionary<string, string>(StringComparer.Ordinal);
        if (throttleGroup is not null)
        {
            filterOptions[Formats.Filters.FilterDriverFormat.ThrottleGroupOption] = throttleGroup;
        }

        if (driver is "copy-before-write" && options.Keys.Where(k => k == "target" || k.StartsWith("target.", StringComparison.Ordinal)).ToList() is { Count: > 0 } targetKeys)
        {
            // The target is recorded only so that the filter can refuse as QEMU's does (see FilterDriverFormat).
            targetKeys.ForEach(k => options.Remove(k));
            filterOptions[Formats.Filters.FilterDriverFormat.CbwTargetOption] = "on";
        }

        var logWritesDisplay = driver is "blklogwrites" ? Formats.Filters.LogWrites.LogWritesNode.Take(options, filterOptions) : [];
        var parallelsOptions = driver is "parallels" ? TakeParallelsOptions(options) : NoOptions;
        var isNull = driver is "null-co" or "null-aio";
        var nullDisplay = new List<KeyValuePair<string, string?>> { new("driver", QemuJson.String(driver ?? "")) };
        var nullOptions = isNull ? TakeNullOptions(options, nullDisplay) : NoOptions;
        var isRaw = driver is null or "raw" or "nbd";
        options.TryGetValue("offset", out var offsetValue);
        options.TryGetValue("size", out var sizeValue);
        long? offset = null, size = null;
        if (isRaw)
        {
            offset = Take(options, "offset") is not null ? ParseSize("offset", offsetValue) : null;
            size = Take(options, "size") is not null ? ParseSize("size", sizeValue) : null;
            if (size is { } s && s % 512 != 0)
            {
                throw new InvalidOptionException("Specified size is not multiple of 512");
            }
        }

        string? filename;
        BlockSpec? fileNode = null;
        IReadOnlyList<IO.Blkdebug.BlkdebugRule>? blkdebugRules = null;
        var blkdebugInline = false;
        QuorumSpec? quorum = null;
        string? curlObject = null;
        IO.Curl.CurlOptions? curl = null;
        SshTarget? ssh = null;
        var checkLiteral = false;
        var protocol = Take(options, "file.driver");
        if (protocol is not null && !NestableFormats.Contains(protocol)
            && MissingFirstChild(protocol, options.Where(o => o.Key.StartsWith(FilePrefix, StringComparison.Ordinal)).ToDictionary(o => o.Key[FilePrefix.Length..], o => o.Value, StringComparer.Ordinal)) is { } missingInner)
        {
            // A file node of a driver this library does not stack still fails first as QEMU's does, for want of its child.
            throw new InvalidOptionException(missingInner);
        }
        if (isNull)
        {
            // A null node reads no file (a "filename" option is refused below, as QEMU refuses it); QEMU names it by its options.
            filename = $"{driver}://";
        }
        else if (driver == "nbd")
        {
            // The nbd protocol as the top node: the export's bytes are the disk, and info names the format "nbd".
            filename = NbdFilename(options, "");
        }
        else if (protocol == "nbd")
        {
            filename = NbdFilename(options, FilePrefix);
        }
        else if (protocol is not null && (NestableFormats.Contains(protocol) || protocol is "null-co" or "null-aio"))
        {
            if (nesting >= MaxFormatNesting)
            {
                throw new InvalidOptionException($"Too many nested format nodes (at most {MaxFormatNesting})");
            }

            // A format (or a null node) as the file node: its options are the "file." ones, and it opens its file itself.
            var innerOptions = new List<KeyValuePair<string, JsonScalar>> { new("driver", JsonScalar.String(protocol)) };
            foreach (var key in options.Keys.Where(k => k.StartsWith(FilePrefix, StringComparison.Ordinal)).ToList())
            {
                innerOptions.Add(new(key[FilePrefix.Length..], options[key]));
                options.Remove(key);
            }

            fileNode = FromOptions(innerOptions, nesting + 1);
            filename = fileNode.Filename;
        }
        else if (protocol == "quorum")
        {
            quorum = QuorumNode(options);
            filename = quorum.Children[0];
        }
        else if (protocol == "blkdebug")
        {
            (filename, blkdebugRules, blkdebugInline) = BlkdebugNode(options);
        }
        else if (protocol is "http" or "https" or "ftp" or "ftps")
        {
            (curl, curlObject) = CurlNode(options, protocol, FilePrefix);
            filename = curl.Url;
        }
        else if (protocol is "ssh" or "nfs")
        {
            var remoteOptions = options.Where(o => o.Key.StartsWith(FilePrefix, StringComparison.Ordinal) && !GenericNodeKeys.Contains(o.Key[FilePrefix.Length..]))
                .ToDictionary(o => o.Key[FilePrefix.Length..], o => o.Value.Text, StringComparer.Ordinal);
            foreach (var key in options.Keys.Where(k => k.StartsWith(FilePrefix, StringComparison.Ordinal) && !GenericNodeKeys.Contains(k[FilePrefix.Length..])).ToList())
            {
                options.Remove(key);
            }

            // The node travels as the ssh:// or nfs:// name that opens it again.
            if (protocol == "ssh")
            {
                ssh = SshNode.Parse(remoteOptions);
                filename = SshNode.NameOf(ssh);
            }
            else
            {
                filename = IO.Nfs.NfsNode.NameOf(IO.Nfs.NfsNode.Parse(remoteOptions));
            }
        }
        else if (protocol is "iscsi" or "iser")
        {
            var iscsiOptions = options.Where(o => o.Key.StartsWith(FilePrefix, StringComparison.Ordinal) && !GenericNodeKeys.Contains(o.Key[FilePrefix.Length..]))
                .Select(o => new KeyValuePair<string, JsonScalar>(o.Key[FilePrefix.Length..], o.Value)).Prepend(new("driver", JsonScalar.String(protocol))).ToList();
            foreach (var key in options.Keys.Where(k => k.StartsWith(FilePrefix, StringComparison.Ordinal)).ToList())
            {
                options.Remove(key);
            }

            var node = IO.Iscsi.IscsiNode.Parse(iscsiOptions);
            filename = IO.Iscsi.IscsiNode.NameOf(node);
            curlObject = node.NodeObject;
        }
        else if (protocol is not null && OtherFormats.Contains(protocol))
        {
            throw new UnsupportedFeatureException($"Format '{protocol}' as the file node of another format is not supported; only raw, qcow2, vmdk, vpc, vdi, vhdx, qed and qcow are");
        }
        else if (protocol is null or "file" or "host_device" or "host_cdrom")
        {
            var fileFilename = Take(options, "file.filename");
            var stringName = Take(options, StringFilenameKey) is { } givenName ? IO.FileProtocolPrefix.Strip(givenName) : null;

            // Beside a driver, a "filename" option is not the file (it is refused below as an option the format lacks).
            filename = fileFilename ?? stringName ?? (driver is null ? Take(options, "filename") : null);
            if (filename is null && protocol is not null)
            {
                throw new InvalidOptionException("The 'file' block driver requires a file name");
            }

            // The file node's own option is literal; the string name a qemu-io open gives with its options
            // (QemuIoOpenSettings) is read for its prefix, as QEMU reads a name given as a string.
            checkLiteral = fileFilename is not null && !filenameIsString;
        }
        else
        {
            throw new InvalidOptionException($"Unknown driver '{protocol}'");
        }

        if (options.Keys.FirstOrDefault(k => k.StartsWith(FilePrefix, StringComparison.Ordinal)) is { } protocolKey)
        {
            throw new InvalidOptionException($"Block protocol '{protocol ?? "file"}' doesn't support the option '{protocolKey[FilePrefix.Length..]}'");
        }

        var backingDriver = Take(options, "backing.driver");
        var backingFilename = BackingFile(options);
        if (options.Keys.FirstOrDefault(k => k.StartsWith("backing.", StringComparison.Ordinal)) is { } backingKey)
        {
            throw new UnsupportedFeatureException($"Options for the backing file ('{backingKey}') are not supported; only \"backing\": null, backing.driver, backing.file.filename and backing.encrypt.key-secret are");
        }

        if (options.Count > 0 && driver == "compress" && fileNode is null)
        {
            // The filter checks the node it opened before options it does not have are refused.
            throw new InvalidOptionException($"Compression is not supported for underlying format: {protocol ?? "file"}");
        }

        if (options.Count > 0)
        {
            // The null drivers are protocols, which QEMU words differently.
            throw new InvalidOptionException(isNull
                ? $"Block protocol '{driver}' doesn't support the option '{options.Keys.First()}'"
                : $"Block format '{driver ?? "raw"}' does not support the option '{options.Keys.First()}'");
        }

        if (string.IsNullOrEmpty(filename))
        {
            throw new InvalidOptionException("A block device must be specified for \"file\"");
        }

        if (checkLiteral)
        {
            LiteralFileName.Check(filename);
        }

        var fileObject = fileNode?.DisplayObject ?? quorum?.DisplayObject ?? curlObject ?? QemuJson.Object([new("driver", QemuJson.String("file")), new("filename", QemuJson.String(filename))]);
        if (blkdebugRules is not null)
        {
            fileObject = QemuJson.Object([new("driver", QemuJson.String("blkdebug")), new("image", fileObject)]);
        }

        var displayObject = QemuJson.Object([
            new("offset", offsetValue.Text is null ? null : QemuJson.Scalar(offsetValue)),
            new("size", sizeValue.Text is null ? null : QemuJson.Scalar(sizeValue)),
            new("driver", QemuJson.String(driver ?? "raw")),
            new("file", fileObject),
            new("key-secret", luksKeySecret is null ? null : QemuJson.String(luksKeySecret)),
            new("encrypt.key-secret", namesKeySecret ? QemuJson.String(keySecret!) : null),
            new("throttle-group", throttleGroup is null ? null : QemuJson.String(throttleGroup)),
            .. logWritesDisplay,
        ]);
        // A null file node with no options of its own is named null-co:// (or null-aio://), and raw over it by that name.
        var nullFileName = fileNode is { Driver: "null-co" or "null-aio" } nullNode && !JsonFilename.IsJson(nullNode.DisplayName) ? nullNode.DisplayName : null;
        var display = nullFileName is not null && offset is null && size is null && luksKeySecret is null && !namesKeySecret && (driver ?? "raw") == "raw" && filterOptions.Count == 0 ? nullFileName
            : offset is null && size is null && fileNode is null && blkdebugRules is null && quorum is null && luksKeySecret is null && !namesKeySecret && curlObject is null && filterOptions.Count == 0 ? filename : JsonFilename.Prefix + displayObject;
        if (isNull)
        {
            // Only options that change what is read (size, read-zeroes) make QEMU name the node by its options; with
            // none of them (latency only delays) it is DRIVER://.
            // latency-ns is never part of the name.
            displayObject = QemuJson.Object([.. nullDisplay.Where(o => o.Key != "latency-ns")]);
            display = nullDisplay.TrueForAll(o => o.Key is "driver" or "latency-ns") ? $"{driver}://" : JsonFilename.Prefix + displayObject;
        }

        return new BlockSpec
        {
            FileDeviceProtocol = protocol is "host_device" or "host_cdrom" ? protocol : null,
            File = fileNode,
            BlkdebugRules = blkdebugRules,
            BlkdebugInline = blkdebugInline,
            Quorum = quorum,
            DisplayObject = displayObject,
            ForceShare = forceShare ?? fileNode?.ForceShare,
            CacheDirect = cacheDirect ?? fileNode?.CacheDirect,
            Locking = locking ?? fileNode?.Locking,
            Driver = driver,
            Filename = filename,
            KeySecret = keySecret,
            BackingKeySecret = backingKeySecret,
            NamesKeySecret = namesKeySecret,
            LuksKeySecret = luksKeySecret,
            RawOffset = offset,
            RawSize = size,
            NoBacking = noBacking,
            Qcow2Options = qcow2Options,
            VpcSizeCalc = vpcSizeCalc,
            FilterOptions = filterOptions.Count == 0 ? NoOptions : filterOptions,
            ParallelsOptions = parallelsOptions,
            NullOptions = nullOptions,
            BackingDriver = backingDriver,
            BackingFilename = backingFilename,
            TrustExtentPaths = trustExtentPaths,
            CurlNamedByJson = curlObject is not null,
            Curl = curl ?? fileNode?.Curl,
            Ssh = ssh ?? fileNode?.Ssh,
            DisplayName = display,
        };
    }

    /// <summary>
    /// A curl node (<c>http</c>, <c>https</c>) whose options start with <paramref name="prefix"/>: its options, checked,
    /// and the node's JSON description when QEMU names the node by it (an option that changes what is read besides the URL), else null.
    /// </summary>
    private static (IO.Curl.CurlOptions Options, string? DisplayObject) CurlNode(Dictionary<string, JsonScalar> options, string protocol, string prefix)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        var display = new List<KeyValuePair<string, string?>> { new("driver", QemuJson.String(protocol)) };
        foreach (var key in IO.Curl.CurlOptions.Keys)
        {
            if (options.Remove(prefix + key, out var value))
            {
                given[key] = value.Text;
                if (IO.Curl.CurlOptions.StrongKeys.Contains(key))
                {
                    display.Add(new(key, QemuJson.Scalar(value)));
                }
            }
        }

        // The block layer's own options go first; the rest are the driver's.
        foreach (var generic in GenericNodeKeys)
        {
            options.Remove(prefix + generic);
        }

        // The driver's own checks (its URL among them) come before the block layer's refusal of options left over.
        var curl = IO.Curl.CurlOptions.Parse(protocol, given);
        if (options.Keys.FirstOrDefault(k => k.StartsWith(prefix, StringComparison.Ordinal)) is { } other)
        {
            throw new InvalidOptionException($"Block protocol '{protocol}' doesn't support the option '{other[prefix.Length..]}'");
        }

        return (curl, curl.HasStrongOptions ? QemuJson.Object(display) : null);
    }

    /// <summary>A curl protocol as the top node: the remote file's bytes are the disk, and <c>info</c> names the protocol as the format.</summary>
    private static BlockSpec TopCurl(Dictionary<string, JsonScalar> options, string driver)
    {
        var forceShare = Take(options, "force-share") is { } share ? KeyValueOptions.ParseBool("force-share", share) : (bool?)null;
        if (options.Remove(StringFilenameKey, out var stringName) && !options.ContainsKey("url"))
        {
            // A string name is the driver's URL, as its filename parser takes it.
            options["url"] = stringName;
        }

        var (curl, displayObject) = CurlNode(options, driver, "");
        var url = curl.Url;
        if (options.Count > 0)
        {
            throw new InvalidOptionException($"Block protocol '{driver}' doesn't support the option '{options.Keys.First()}'");
        }

        return new BlockSpec
        {
            Driver = driver,
            Filename = url,
            ForceShare = forceShare,
            Curl = curl,
            CurlNamedByJson = displayObject is not null,
            DisplayName = displayObject is null ? url : JsonFilename.Prefix + displayObject,
            DisplayObject = displayObject ?? QemuJson.Object([new("driver", QemuJson.String(driver)), new("url", QemuJson.String(url))]),
        };
    }

    /// <summary>The protocol drivers for host files and devices, which can also be an image's top node.</summary>
    public static bool IsHostProtocol(string? driver) => driver is "file" or "host_device" or "host_cdrom";

    /// <summary>A host protocol driver as the top node: its file name and locking, and no format above it.</summary>
    private static BlockSpec TopProtocol(Dictionary<string, JsonScalar> options, string driver)
    {
        var filename = Take(options, "filename");
        var locking = Take(options, "locking") is { } lockingText ? ParseLocking(lockingText) : (ImageLocking?)null;
        var forceShare = Take(options, "force-share") is { } share ? KeyValueOptions.ParseBool("force-share", share) : (bool?)null;
        if (options.Count > 0)
        {
            throw new InvalidOptionException($"Block protocol '{driver}' doesn't support the option '{options.Keys.First()}'");
        }

        if (string.IsNullOrEmpty(filename))
        {
            throw new InvalidOptionException($"The '{driver}' block driver requires a file name");
        }

        LiteralFileName.Check(filename);
        return new BlockSpec
        {
            Protocol = driver,
            Driver = driver,
            Filename = filename,
            Locking = locking,
            ForceShare = forceShare,
            DisplayName = filename,
            DisplayObject = QemuJson.Object([new("driver", QemuJson.String(driver)), new("filename", QemuJson.String(filename))]),
        };
    }

    /// <summary>
    /// An <c>--image-opts</c> list as the equivalent <c>json:</c> file name (each value a string, as QEMU reads
    /// dotted options), so it travels wherever a file name does.
    /// </summary>
    public static string DottedToJsonName(string text) =>
        JsonFilename.Prefix + QemuJson.Object([.. KeyValueOptions.Parse([text]).Select(o => new KeyValuePair<string, string?>(o.Key, QemuJson.String(o.Value)))], ordered: true);

    /// <summary>
    /// The backing node's file named in the options (<c>backing.file.filename</c> under the <c>file</c> protocol, or
    /// <c>backing.filename</c>); null when the header's name stands.
    /// </summary>
    private static string? BackingFile(Dictionary<string, JsonScalar> options)
    {
        var protocol = Take(options, "backing.file.driver");
        if (protocol is not null and not "file")
        {
            throw new UnsupportedFeatureException($"A '{protocol}' node under the backing file is not supported; only 'file' is");
        }

        var filename = Take(options, "backing.file.filename") ?? Take(options, "backing.filename");
        if (protocol is not null && filename is null)
        {
            throw new InvalidOptionException("The 'file' block driver requires a file name");
        }

        return filename;
    }

    /// <summary>qcow2's metadata cache sizes (bytes, with qemu's size suffixes) and its cache clean interval (seconds).</summary>
    private static readonly string[] Qcow2SizeKeys = ["cache-size", "l2-cache-size", "l2-cache-entry-size", "refcount-cache-size"];

    /// <summary>The null driver's options, checked for form; each given one also goes into the node's printed name.</summary>
    private static IReadOnlyDictionary<string, string> TakeNullOptions(Dictionary<string, JsonScalar> options, List<KeyValuePair<string, string?>> display)
    {
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options.Remove("size", out var size))
        {
            taken["size"] = ParseSize("size", size).ToString(CultureInfo.InvariantCulture);
            display.Add(new("size", QemuJson.Scalar(size)));
        }

        if (options.Remove("read-zeroes", out var zeroes))
        {
            taken["read-zeroes"] = BoolText("read-zeroes", zeroes);
            display.Add(new("read-zeroes", QemuJson.Scalar(zeroes)));
        }

        if (options.Remove("latency-ns", out var latency))
        {
            // Only delays QEMU's requests; checked as a number and otherwise without effect.
            QemuNumber.Parse("latency-ns", latency.Text);
            display.Add(new("latency-ns", QemuJson.Scalar(latency)));
        }

        return taken;
    }

    /// <summary>qcow2's boolean runtime options.</summary>
    private static readonly string[] Qcow2BoolKeys = ["lazy-refcounts", "pass-discard-request", "pass-discard-snapshot", "pass-discard-other"];

    private const string OverlapCheckPrefix = "overlap-check.";

    /// <summary>A boolean option as "on" or "off" (a JSON boolean already reads as one; text as qemu's words for one).</summary>
    private static string BoolText(string key, JsonScalar value) => KeyValueOptions.ParseBool(key, value.Text) ? "on" : "off";

    /// <summary>qcow2's runtime options, their values checked for form here and against the image when it is opened.</summary>
    private static IReadOnlyDictionary<string, string> TakeQcow2Options(Dictionary<string, JsonScalar> options)
    {
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in Qcow2SizeKeys)
        {
            if (options.Remove(key, out var value))
            {
                taken[key] = ParseSize(key, value).ToString(CultureInfo.InvariantCulture);
            }
        }

        if (options.Remove("data-file", out var dataFileReference))
        {
            // A string names another node, which a single command line never defines (as for "file").
            throw new InvalidOptionException($"Cannot find device='{dataFileReference.Text}' nor node-name='{dataFileReference.Text}'");
        }

        var dataFileDriver = Take(options, "data-file.driver");
        if (dataFileDriver is "raw" or "blkdebug")
        {
            DataFileNode(options, dataFileDriver, taken);
        }
        else if (dataFileDriver is not null and not "file")
        {
            throw new UnsupportedFeatureException($"Only the 'file', 'raw' and 'blkdebug' drivers can hold an external data file here, not '{dataFileDriver}'");
        }

        if (options.Remove(Formats.Qcow2.Qcow2DataFile.FilenameOption, out var dataFile))
        {
            taken[Formats.Qcow2.Qcow2DataFile.FilenameOption] = dataFile.Text;
        }

        if (options.Remove("cache-clean-interval", out var interval))
        {
            // Read as QEMU reads numbers (strtoull: "-1" wraps to the largest value, which the range check refuses).
            taken["cache-clean-interval"] = interval.Kind is JsonScalarKind.Integer or JsonScalarKind.String
                ? QemuNumber.Parse("cache-clean-interval", interval.Text).ToString(CultureInfo.InvariantCulture)
                : throw new InvalidOptionException("Parameter 'cache-clean-interval' expects a number");
        }

        foreach (var key in Qcow2BoolKeys)
        {
            if (options.Remove(key, out var value))
            {
                taken[key] = BoolText(key, value);
            }
        }

        foreach (var key in options.Keys.Where(k => k.StartsWith(OverlapCheckPrefix, StringComparison.Ordinal)).ToList())
        {
            var value = options[key];
            options.Remove(key);
            taken[key] = key == OverlapCheckPrefix + "template" ? value.Text : BoolText(key, value);
        }

        if (options.Remove("overlap-check", out var overlap))
        {
            taken["overlap-check"] = overlap.Text;
        }

        return taken.Count == 0 ? NoOptions : taken;
    }

    private static string? Take(Dictionary<string, JsonScalar> options, string key) =>
        options.Remove(key, out var value) ? value.Text : null;

    /// <summary>A boolean option (JSON boolean, or qemu's words for one), if given.</summary>
    private static bool? TakeBool(Dictionary<string, JsonScalar> options, string key) =>
        Take(options, key) is { } text ? KeyValueOptions.ParseBool(key, text) : null;

    /// <summary><c>"backing": null</c>, or the deprecated empty string; any other string names a node, which cannot be defined here.</summary>
    private static bool IsNoBacking(JsonScalar value, string? driver) => value.Kind switch
    {
        JsonScalarKind.Null => true,
        JsonScalarKind.String when value.Text.Length == 0 => true,
        _ => throw new InvalidOptionException($"Block format '{driver ?? "raw"}' does not support the option 'backing'"),
    };

    private static ImageLocking ParseLocking(string text) => text switch
    {
        "on" => ImageLocking.On,
        "off" => ImageLocking.Off,
        "auto" => ImageLocking.Auto,
        _ => throw new InvalidOptionException($"invalid parameter value: {text}"),
    };

    /// <summary>The Parallels runtime options: the size checked here in QEMU's words, the mode by the driver at open.</summary>
    private static IReadOnlyDictionary<string, string> TakeParallelsOptions(Dictionary<string, JsonScalar> options)
    {
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options.Remove(Formats.Parallels.ParallelsImage.PreallocSizeOption, out var size))
        {
            taken[Formats.Parallels.ParallelsImage.PreallocSizeOption] = ParseSize(Formats.Parallels.ParallelsImage.PreallocSizeOption, size).ToString(CultureInfo.InvariantCulture);
        }

        if (options.Remove(Formats.Parallels.ParallelsImage.PreallocModeOption, out var mode))
        {
            taken[Formats.Parallels.ParallelsImage.PreallocModeOption] = mode.Text;
        }

        return taken.Count == 0 ? NoOptions : taken;
    }

    /// <summary>A size option: a JSON integer, or a string with qemu's size suffixes.</summary>
    internal static long ParseSize(string key, JsonScalar value)
    {
        var valid = value.Kind switch
        {
            JsonScalarKind.Integer => long.TryParse(value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : -1,
            JsonScalarKind.String => SizeText.TryParse(value.Text, out var parsed) ? parsed : -1,
            _ => -1,
        };
        return valid >= 0 ? valid : throw new InvalidOptionException($"Parameter '{key}' expects a non-negative number below 2^64\n{SizeHint}");
    }

    /// <summary>
    /// A qcow2 data file given as a node of its own: a <c>raw</c> node over the file (<c>data-file.file.*</c>, which may
    /// be a <c>blkdebug</c> node over the file) or a <c>blkdebug</c> node over the file (<c>data-file.image.*</c>). The
    /// file's name goes to <paramref name="taken"/> as <c>data-file.filename</c>, the rest as internal keys that
    /// <see cref="Formats.Qcow2.Qcow2DataFile"/> reads: the raw node raises its read and write events on the
    /// blkdebug node under it, as QEMU's raw driver does.
    /// </summary>
    private static void DataFileNode(Dictionary<string, JsonScalar> options, string driver, Dictionary<string, string> taken)
    {
        const string dataFile = "data-file.";
        var node = dataFile;
        if (driver == "raw")
        {
            taken[Formats.Qcow2.Qcow2DataFile.RawNodeOption] = "on";
            node = dataFile + FilePrefix;
            var fileDriver = Take(options, node + "driver");
            if (fileDriver is null or "file")
            {
                var name = Take(options, node + "filename");
                if (name is not null)
                {
                    taken[Formats.Qcow2.Qcow2DataFile.FilenameOption] = name;
                }

                return;
            }

            if (fileDriver != "blkdebug")
            {
                throw new UnsupportedFeatureException($"A '{fileDriver}' node under the data file's raw node is not supported; only 'file' and 'blkdebug' are");
            }
        }

        var filename = TakeBlkdebugImageFilename(options, node);
        var before = options.Count;
        _ = TakeBlkdebugLimits(options, node);
        if (options.Count != before)
        {
            throw new UnsupportedFeatureException("Request limits on a blkdebug node under a data file are not supported");
        }

        var config = Take(options, node + "config");
        var ruleKeys = options.Keys.Where(k => k.StartsWith(node + "inject-error.", StringComparison.Ordinal) || k.StartsWith(node + "set-state.", StringComparison.Ordinal)).ToList();
        var ruleOptions = ruleKeys.Select(k => new KeyValuePair<string, string>(k[node.Length..], options[k].Text)).ToList();
        foreach (var key in ruleKeys)
        {
            options.Remove(key);
        }

        // Checked now, so a bad rule fails as the name is read; the data file's open reads them again.
        _ = IO.Blkdebug.BlkdebugRules.Load(config, ruleOptions);
        taken[Formats.Qcow2.Qcow2DataFile.FilenameOption] = filename;
        taken[Formats.Qcow2.Qcow2DataFile.BlkdebugOption] = "on";
        if (config is not null)
        {
            taken[Formats.Qcow2.Qcow2DataFile.BlkdebugConfigOption] = config;
        }

        foreach (var (key, value) in ruleOptions)
        {
            taken[Formats.Qcow2.Qcow2DataFile.BlkdebugRulePrefix + key] = value;
        }
    }

    /// <summary>
    /// A <c>blkdebug</c> node above a format (<c>driver=blkdebug</c>): the format is its <c>image</c> (<c>image.*</c>
    /// options, or <c>x-image</c> naming the file, as a <c>blkdebug::PATH</c> name gives it), and the node adds request
    /// limits and its rules, which act on guest offsets (see <see cref="IO.Blkdebug.BlkdebugImage"/>).
    /// </summary>
    private static BlockSpec TopBlkdebug(Dictionary<string, JsonScalar> options, int nesting)
    {
        const string image = "image.";
        if (options.TryGetValue("image", out var reference))
        {
            throw new InvalidOptionException($"Cannot find device='{reference.Text}' nor node-name='{reference.Text}'");
        }

        var inner = new List<KeyValuePair<string, JsonScalar>>();
        foreach (var key in options.Keys.Where(k => k.StartsWith(image, StringComparison.Ordinal)).ToList())
        {
            inner.Add(new(key[image.Length..], options[key]));
            options.Remove(key);
        }

        var fromString = false;
        if (options.Remove("x-image", out var path) && !inner.Exists(o => o.Key is "filename" or "file.filename"))
        {
            inner.Add(new(inner.Exists(o => o.Key == "driver") ? "file.filename" : "filename", path));
            fromString = true;
        }

        if (inner.Count == 0)
        {
            throw new InvalidOptionException("A block device must be specified for \"image\"");
        }

        if (inner.Exists(o => o.Key == "filename") && !inner.Exists(o => o.Key == "driver" || o.Key.StartsWith(FilePrefix, StringComparison.Ordinal)))
        {
            // A bare file name (x-image, image.filename) is the node's file itself, read as raw: QEMU opens the
            // image child as a protocol node, without probing a format on it.
            var named = inner.Find(o => o.Key == "filename");
            inner.Remove(named);
            inner.Add(new("driver", JsonScalar.String("raw")));
            inner.Add(new("file.filename", named.Value));
        }

        var hasLimits = IO.Blkdebug.BlkdebugLimits.Keys.Any(options.ContainsKey);
        var limits = TakeBlkdebugLimits(options, "");
        var config = Take(options, "config");
        var ruleKeys = options.Keys.Where(k => k.StartsWith("inject-error.", StringComparison.Ordinal) || k.StartsWith("set-state.", StringComparison.Ordinal)).ToList();
        var rules = IO.Blkdebug.BlkdebugRules.Load(config, [.. ruleKeys.Select(k => new KeyValuePair<string, string>(k, options[k].Text))]);
        foreach (var key in ruleKeys)
        {
            options.Remove(key);
        }

        // The node raises none when it opens and copy-on-read raises cor_write on it; a format's own events are raised
        // on the format's file, so rules for them never act here (as in QEMU). Writes through the node raise the
        // pwritev events on it, which are not modelled: rules for those are refused rather than ignored.
        if (rules.Any(r => r.Event is >= IO.Blkdebug.BlkdebugEvent.PwritevRmwHead and <= IO.Blkdebug.BlkdebugEvent.PwritevDone))
        {
            throw new UnsupportedFeatureException("Injected errors on a blkdebug node above a format are not supported; put the node under the format (file.driver=blkdebug)");
        }

        if (options.Count > 0)
        {
            throw new InvalidOptionException($"Block format 'blkdebug' does not support the option '{options.Keys.First()}'");
        }

        var spec = FromOptions(inner, nesting + 1, fromString);
        var displayObject = QemuJson.Object([new("driver", QemuJson.String("blkdebug")), new("image", spec.DisplayObject)]);
        // QEMU names the node blkdebug:CONFIG:IMAGE when it has no options but its configuration file and its image has
        // a plain name, and by its JSON description otherwise.
        var nodeName = !hasLimits && ruleKeys.Count == 0 && !spec.DisplayName.StartsWith(JsonFilename.Prefix, StringComparison.Ordinal)
            ? $"blkdebug:{config}:{spec.DisplayName}"
            : JsonFilename.Prefix + displayObject;
        return spec with
        {
            TopBlkdebugName = nodeName,
            TopBlkdebugLimits = limits,
            TopBlkdebugRules = rules.Count > 0 ? rules : null,
            DisplayObject = displayObject,
            DisplayName = JsonFilename.Prefix + displayObject,
        };
    }

    /// <summary>A blkdebug node's limits (options <paramref name="node"/><c>align</c> ...), checked as QEMU checks them.</summary>
    private static IO.Blkdebug.BlkdebugLimits TakeBlkdebugLimits(Dictionary<string, JsonScalar> options, string node)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var key in IO.Blkdebug.BlkdebugLimits.Keys)
        {
            if (options.Remove(node + key, out var value))
            {
                values[key] = ParseSize(key, value);
            }
        }

        var limits = IO.Blkdebug.BlkdebugLimits.Create(values, out var complaint);
        return complaint is null ? limits : throw new InvalidOptionException(complaint);
    }

    /// <summary>The plain file a blkdebug node at <paramref name="node"/> reads (its <c>image</c> child), checked as QEMU checks it.</summary>
    private static string TakeBlkdebugImageFilename(Dictionary<string, JsonScalar> options, string node)
    {
        if (options.TryGetValue(node + "image", out var reference))
        {
            throw new InvalidOptionException($"Cannot find device='{reference.Text}' nor node-name='{reference.Text}'");
        }

        var imageDriver = Take(options, node + "image.driver");
        if (imageDriver is not null and not "file")
        {
            throw new UnsupportedFeatureException($"A '{imageDriver}' node under blkdebug is not supported; only 'file' is");
        }

        // x-image is the string a blkdebug:: name gives, read for its protocol prefix as any string name is.
        return (Take(options, node + "image.filename") is { } filename ? LiteralFileName.Check(filename) : null) ?? Take(options, node + "x-image")
            ?? throw new InvalidOptionException(imageDriver is null ? "A block device must be specified for \"image\"" : "The 'file' block driver requires a file name");
    }

    /// <summary>
    /// A <c>blkdebug</c> file node (<c>file.driver=blkdebug</c>): the image's file (<c>image.filename</c>, <c>image</c> as an
    /// object with the <c>file</c> driver, or <c>x-image</c>) and its rules (a <c>config</c> file, then the
    /// <c>inject-error</c>/<c>set-state</c> options). Its alignment options are checked as QEMU checks them.
    /// </summary>
    /// <remarks>
    /// Inline is whether options beyond the config file and the image were given (rules or limits): QEMU then cannot
    /// name the node by a plain file name, and names the image by its JSON description.
    /// </remarks>
    private static (string Filename, IReadOnlyList<IO.Blkdebug.BlkdebugRule> Rules, bool Inline) BlkdebugNode(Dictionary<string, JsonScalar> options)
    {
        const string node = FilePrefix;
        var filename = TakeBlkdebugImageFilename(options, node);
        var config = Take(options, node + "config");
        var before = options.Count;
        _ = TakeBlkdebugLimits(options, node);
        var inline = options.Count != before;

        var ruleKeys = options.Keys.Where(k => k.StartsWith(node + "inject-error.", StringComparison.Ordinal) || k.StartsWith(node + "set-state.", StringComparison.Ordinal)).ToList();
        var ruleOptions = ruleKeys.Select(k => new KeyValuePair<string, string>(k[node.Length..], options[k].Text)).ToList();
        foreach (var key in ruleKeys)
        {
            options.Remove(key);
        }

        return (filename, IO.Blkdebug.BlkdebugRules.Load(config, ruleOptions), inline || ruleKeys.Count > 0);
    }

    /// <summary>
    /// A <c>quorum</c> file node: <c>vote-threshold</c> and the <c>children</c> array of host files, checked as QEMU
    /// checks them. Reads vote; rewriting corrupted children, blkverify mode and the fifo pattern are refused.
    /// </summary>
    private static QuorumSpec QuorumNode(Dictionary<string, JsonScalar> options)
    {
        const string node = FilePrefix;
        var children = new List<string>();
        var childObjects = new List<string>();
        for (var i = 0; ; i++)
        {
            var prefix = $"{node}children.{i.ToString(CultureInfo.InvariantCulture)}.";
            if (!options.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)))
            {
                break;
            }

            var driver = Take(options, prefix + "driver");
            if (driver is not null and not "file")
            {
                throw new UnsupportedFeatureException($"A '{driver}' child of a quorum node is not supported; only 'file' is");
            }

            var childName = Take(options, prefix + "filename");
            if (string.IsNullOrEmpty(childName))
            {
                throw new InvalidOptionException("The 'file' block driver requires a file name");
            }

            if (options.Keys.FirstOrDefault(k => k.StartsWith(prefix, StringComparison.Ordinal)) is { } other)
            {
                throw new InvalidOptionException($"Block protocol 'file' doesn't support the option '{other[prefix.Length..]}'");
            }

            children.Add(childName);
            childObjects.Add(QemuJson.Object([new("driver", QemuJson.String("file")), new("filename", QemuJson.String(childName))]));
        }

        if (options.Keys.Any(k => k.StartsWith(node + "children.", StringComparison.Ordinal) || k == node + "children"))
        {
            throw new InvalidOptionException("Option children is not a valid array");
        }

        if (children.Count == 0)
        {
            throw new InvalidOptionException("Number of provided children must be 1 or more");
        }

        var thresholdText = Take(options, node + "vote-threshold");
        var threshold = thresholdText is null ? 0 : QemuNumber.Parse("vote-threshold", thresholdText);
        if (threshold < 1)
        {
            throw new InvalidOptionException("Parameter 'vote-threshold' expects a value >= 1");
        }

        if (threshold > (ulong)children.Count)
        {
            throw new InvalidOptionException("threshold may not exceed children count");
        }

        var pattern = Take(options, node + "read-pattern");
        if (pattern is not null and not ("quorum" or "fifo"))
        {
            throw new InvalidOptionException("Please set read-pattern as fifo or quorum");
        }

        if (pattern == "fifo")
        {
            throw new UnsupportedFeatureException("The quorum read pattern 'fifo' is not supported; only 'quorum' is");
        }

        if (TakeBool(options, node + "blkverify") == true)
        {
            throw new UnsupportedFeatureException("blkverify mode of a quorum node is not supported");
        }

        if (TakeBool(options, node + "rewrite-corrupted") == true)
        {
            throw new UnsupportedFeatureException("rewrite-corrupted of a quorum node is not supported (the node is read-only here)");
        }

        var display = QemuJson.Object([
            new("children", "[" + string.Join(", ", childObjects) + "]"),
            new("driver", QemuJson.String("quorum")),
            new("vote-threshold", threshold.ToString(CultureInfo.InvariantCulture)),
        ]);
        return new QuorumSpec(children, (int)threshold, display);
    }

    /// <summary>
    /// QEMU's refusal when a format or filter driver has none of the child it opens first (its <c>file</c>, blkverify's
    /// <c>raw</c>, quorum's <c>children</c>), or null.
    /// </summary>
    private static string? MissingFirstChild(string? driver, Dictionary<string, JsonScalar> options)
    {
        bool Has(string child) => options.ContainsKey(child) || options.Keys.Any(k => k.StartsWith(child + ".", StringComparison.Ordinal));
        return driver switch
        {
            "blkverify" when !Has("raw") && !options.ContainsKey("x-raw") && !options.ContainsKey(StringFilenameKey) => "A block device must be specified for \"raw\"",
            "quorum" when !Has("children") && !options.ContainsKey(StringFilenameKey) => "Number of provided children must be 1 or more",
            "copy-before-write" when !Has("file") => "Parameter 'file' is missing",
            not null when FileChildDrivers.Contains(driver) && !Has("file") && !options.ContainsKey(StringFilenameKey) => "A block device must be specified for \"file\"",
            _ => null,
        };
    }

    /// <summary>qemu's nbd driver options (<c>server.type=unix|inet</c>, <c>server.path</c>, <c>server.host</c>, <c>server.port</c>, <c>export</c>, <c>open-timeout</c>, <c>reconnect-delay</c>) as a URI.</summary>
    private static string NbdFilename(Dictionary<string, JsonScalar> options, string prefix)
    {
        // Only a string name is an nbd: URI; a "filename" option is not read (QEMU then misses the server's address).
        if (prefix.Length == 0 && Take(options, StringFilenameKey) is { } uri)
        {
            return uri;
        }

        // The legacy flat address (host/port, or path) stands for server.*, as QEMU's nbd driver turns it into them.
        var legacyHost = Take(options, prefix + "host");
        var legacyPort = Take(options, prefix + "port");
        var legacyPath = Take(options, prefix + "path");
        var hasServer = options.Keys.Any(k => k.StartsWith(prefix + "server.", StringComparison.Ordinal));
        if (legacyHost is not null || legacyPort is not null || legacyPath is not null)
        {
            if (hasServer)
            {
                throw new InvalidOptionException("Cannot use 'server' and path/host/port at the same time");
            }

            if (legacyPath is not null && legacyHost is not null)
            {
                throw new InvalidOptionException("path and host may not be used at the same time");
            }

            if (legacyPath is not null && legacyPort is not null)
            {
                throw new InvalidOptionException("port may not be used without host");
            }
        }

        if (!hasServer && legacyHost is null && legacyPath is null)
        {
            throw new InvalidOptionException("NBD server address missing");
        }

        var type = Take(options, prefix + "server.type") ?? (legacyPath is not null ? "unix" : legacyHost is not null ? "inet" : null);
        var host = Take(options, prefix + "server.host") ?? legacyHost;
        var port = Take(options, prefix + "server.port") ?? (legacyHost is not null ? legacyPort : null);
        var path = Take(options, prefix + "server.path") ?? legacyPath;
        var export = Take(options, prefix + "export");
        var tlsCreds = Take(options, prefix + "tls-creds");
        var tlsHostname = Take(options, prefix + "tls-hostname");
        var dirtyBitmap = Take(options, prefix + "x-dirty-bitmap");
        var openTimeout = Take(options, prefix + "open-timeout");
        var reconnectDelay = Take(options, prefix + "reconnect-delay");
        return Nbd.Client.NbdUri.Format(type ?? (path is not null ? "unix" : "inet"), host, port, path, export, tlsCreds, tlsHostname, dirtyBitmap, openTimeout, reconnectDelay);
    }
}

/// <summary>A quorum node: its children's file names, its vote threshold, and its JSON description.</summary>
internal sealed record QuorumSpec(IReadOnlyList<string> Children, int Threshold, string DisplayObject);
