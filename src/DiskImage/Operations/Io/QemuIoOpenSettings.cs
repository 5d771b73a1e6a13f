namespace DiskImage.Operations.Io;

/// <summary>How <c>qemu-io FILE</c> or its <c>open</c> command opens an image.</summary>
internal sealed record QemuIoOpenSettings(string Path)
{
    public string? Format { get; init; }

    /// <summary>The name an open failure is reported under, when <see cref="Path"/> is a description built from it (a <c>blkdebug:</c> name with <c>-o</c> options).</summary>
    public string? NameForErrors { get; init; }

    /// <summary>Named by <c>--image-opts</c>: an open failure names no device.</summary>
    public bool NamedByOptions { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary><c>-s</c>: writes go to a temporary qcow2 overlay that disappears on close.</summary>
    public bool Snapshot { get; init; }

    public bool ForceShare { get; init; }

    /// <summary><c>cache=unsafe</c>: flushes are not passed on.</summary>
    public bool IgnoreFlushes { get; init; }

    /// <summary>Cache mode <c>none</c> or <c>directsync</c>: the nodes are opened with <c>cache.direct=on</c>.</summary>
    public bool DirectIo { get; init; }

    /// <summary>Cache mode writethrough or directsync: writes are flushed when their command completes.</summary>
    public bool WriteThrough { get; init; }

    /// <summary>No cache mode was given (qemu-io's writethrough default); see <see cref="IoOptions.DefaultCache"/>.</summary>
    public bool DefaultCache { get; init; }

    /// <summary><c>-C</c> or the <c>copy-on-read</c> filter: reads copy what they get from below into the image.</summary>
    public bool CopyOnRead { get; init; }

    /// <summary>Copy-on-read comes from the <c>copy-on-read</c> filter node (which refuses a read-only open in its own words).</summary>
    public bool CopyOnReadFilter { get; init; }

    /// <summary>The <c>compress</c> filter: writes store whole clusters compressed.</summary>
    public bool Compress { get; init; }

    /// <summary>
    /// A <c>json:</c> name whose top node is the <c>copy-on-read</c> or <c>compress</c> filter as the name of the node
    /// under it (its <c>file</c> options), with the filter's behaviour switched on.
    /// </summary>
    public QemuIoOpenSettings WithoutFilters()
    {
        if (!Options.JsonFilename.IsJson(Path))
        {
            return this;
        }

        var peeled = Options.FilterNodes.Peel(Options.JsonFilename.Parse(Path), v => v.Text, Options.JsonScalar.String);
        return !peeled.HadFilters ? this : this with
        {
            Path = Options.JsonFilename.Prefix + Options.QemuJson.Object([.. peeled.Options.Select(o => new KeyValuePair<string, string?>(o.Key, Options.QemuJson.Scalar(o.Value)))], ordered: true),
            CopyOnRead = CopyOnRead || peeled.CopyOnRead,
            CopyOnReadFilter = CopyOnReadFilter || peeled.CopyOnRead,
            Compress = Compress || peeled.Compress,
        };
    }

    /// <summary><c>discard=ignore</c>: discards and <c>write -z -u</c>'s unmapping do nothing.</summary>
    public bool IgnoreDiscards { get; init; }

    public Func<string?, byte[]?>? SecretProvider { get; init; }

    public string? KeySecret { get; init; }

    /// <summary><c>overlap-check.inactive-l2=on</c> (qcow2): writes check snapshots' L2 tables too.</summary>
    public bool InactiveL2OverlapCheck { get; init; }

    /// <summary><c>file.align</c> of a <c>blkdebug:</c> name: the alignment its breakpoint events are raised at (1: none).</summary>
    public long BlkdebugAlign { get; init; } = 1;

    /// <summary>
    /// Options for the image's nodes given with <c>-o</c> beside a path (qcow2's runtime options such as
    /// <c>lazy-refcounts</c> or the cache sizes), as key and text; <c>reopen -o</c> adds to them, as QEMU keeps the
    /// options given before.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> NodeOptions { get; init; } = [];

    /// <summary>Node names given at open (<c>node-name</c>, <c>file.node-name</c>, <c>backing.node-name</c>): reopen may repeat them but not change them.</summary>
    public IReadOnlyDictionary<string, string> NodeNames { get; init; } = new Dictionary<string, string>();

    /// <summary>The name the image is opened by: <see cref="Path"/>, or with <see cref="NodeOptions"/> a <c>json:</c> name carrying them.</summary>
    public string OpenName
    {
        get
        {
            if (NodeOptions.Count == 0)
            {
                return Path;
            }

            var members = new List<KeyValuePair<string, string?>>();
            if (Options.JsonFilename.IsJson(Path))
            {
                foreach (var (key, value) in Options.JsonFilename.Parse(Path))
                {
                    if (!NodeOptions.Any(o => o.Key == key))
                    {
                        members.Add(new(key, Options.QemuJson.Scalar(value)));
                    }
                }
            }
            else
            {
                if (Format is not null)
                {
                    members.Add(new("driver", Options.QemuJson.String(Format)));
                }

                // A name with a protocol prefix goes as the string name, which keeps its prefix's meaning (as in
                // QEMU); the file node's "file.filename" would be a literal host file name.
                var key = Format is not null && IO.ProtocolName.Of(Path) is not null ? Options.BlockSpec.StringFilenameKey : "file.filename";
                members.Add(new(key, Options.QemuJson.String(Path)));
            }

            members.AddRange(NodeOptions.Select(o => new KeyValuePair<string, string?>(o.Key, Options.QemuJson.String(o.Value))));
            return Options.JsonFilename.Prefix + Options.QemuJson.Object(members, ordered: true);
        }
    }

    /// <summary>Keys of <c>-o</c> that name a node rather than configure one.</summary>
    public static bool IsNodeName(string key) => key is "node-name" or "file.node-name" or "backing.node-name";

    /// <summary>The block layer's own boolean options, which every driver takes.</summary>
    public static bool IsGenericBool(string key) => key is "read-only" or "auto-read-only" or "cache.direct" or "cache.no-flush" or "force-share";

    /// <summary>These settings with <paramref name="options"/> joined to <see cref="NodeOptions"/> as a QEMU reopen joins them.</summary>
    public QemuIoOpenSettings WithNodeOptions(IReadOnlyList<KeyValuePair<string, string>> options) =>
        this with { NodeOptions = Formats.Qcow2.Qcow2RuntimeOptions.Join(NodeOptions, options) };
}
