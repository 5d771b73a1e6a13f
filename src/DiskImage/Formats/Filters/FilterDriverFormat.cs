namespace DiskImage.Formats.Filters;

/// <summary>
/// A QEMU filter driver named with <c>-f</c> over a plain file (<c>-f preallocate disk.raw</c>): QEMU opens the filter
/// with the file as its child, so the file's own failures (missing, a directory) come first. Then each filter does
/// what QEMU's does with no options of its own: <c>preallocate</c> and <c>copy-on-read</c> pass requests through to
/// the file (copy-on-read needs a writable node, and over a plain file has nothing to copy); <c>blkdebug</c> is its
/// own node above the probed image (see <see cref="ImageFormatRegistry"/>); the others refuse in their driver's words,
/// as each lacks an option it requires. Never chosen by probing, and none creates images.
/// </summary>
internal sealed class FilterDriverFormat : IImageFormat
{
    /// <summary>One for every filter of qemu-img's list but the null drivers (which are <see cref="Null.NullFormat"/>).</summary>
    public static IReadOnlyList<FilterDriverFormat> All { get; } =
    [
        .. QemuFormatNames.All
            .Where(n => QemuFormatNames.ClassOf(n) == QemuDriverClass.Filter && n is not ("null-co" or "null-aio"))
            .Select(n => new FilterDriverFormat(n)),
    ];

    /// <summary>The format option that carries a throttle node's <c>throttle-group</c> to its open.</summary>
    internal const string ThrottleGroupOption = "throttle-group";

    /// <summary>Marks a copy-before-write node given its <c>target</c> child.</summary>
    internal const string CbwTargetOption = "target";

    private FilterDriverFormat(string name) => Name = name;

    public string Name { get; }

    public int ProbeHeaderSize => 0;

    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    public bool CanCreate => false;

    public bool SupportsBackingFiles => false;

    /// <summary>Whether the filter, with only a file under it, reads and writes that file unchanged.</summary>
    public bool PassesThrough => Name is "preallocate" or "copy-on-read";

    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);

        // blkverify looks for its "raw" child before its file; the others open the file node first: a directory is not a regular file to QEMU's file driver (a writable open of one
        // fails in the open itself, as "Is a directory").
        if (Name == "blkverify")
        {
            throw new InvalidImageException(Refusal(options.ReadOnly)!);
        }

        if (options.ReadOnly && IO.FileStatCalls.TryStat(path, out _, out _, out var kind) && kind != IO.FileKind.Regular
            && kind is not (IO.FileKind.CharacterDevice or IO.FileKind.BlockDevice))
        {
            throw new InvalidOptionException($"'file' driver requires '{path}' to be a regular file");
        }

        // A throttle node may sit on a format node (its guest data), the others only on the file.
        var file = Name is "throttle" or "blklogwrites" && options.FileNode is { } node ? node(options, false)
            : IO.Storage.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: false));
        try
        {
            if (Name == "throttle")
            {
                return OpenThrottle(file, options);
            }

            if (Name == "snapshot-access")
            {
                file.IgnoreFlushes = options.IgnoreFlushes;
                return new Raw.RawImage(new SnapshotAccessStorage(file), options, this);
            }

            if (Name == "blklogwrites" && options.FormatOptions.ContainsKey(LogWrites.LogWritesNode.LogKey))
            {
                return OpenLogWrites(file, options);
            }

            if (Name == "copy-before-write" && options.FormatOptions.ContainsKey(CbwTargetOption))
            {
                // QEMU's filter takes write permission on its target, which a read-only open refuses; the copying
                // itself is not implemented here.
                throw options.ReadOnly ? new InvalidImageException("Block node is read-only")
                    : new UnsupportedFeatureException("copy-before-write with a target is not supported");
            }

            if (Refusal(options.ReadOnly) is { } refusal)
            {
                throw new InvalidImageException(refusal);
            }

            if (!PassesThrough)
            {
                throw new UnsupportedFeatureException($"The '{Name}' driver is not supported");
            }

            file.IgnoreFlushes = options.IgnoreFlushes;
            var named = Name == "preallocate" ? options with { StackedDisplayName = options.StackedDisplayName ?? JsonName(path) } : options;
            return new Raw.RawImage(file, named, this);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The throttle node over its file: the group it names must have been defined (<c>--object throttle-group</c>).</summary>
    private Raw.RawImage OpenThrottle(IO.IStorage file, ImageOpenOptions options)
    {
        if (!options.FormatOptions.TryGetValue(ThrottleGroupOption, out var name))
        {
            throw new InvalidImageException("Please specify a throttle group");
        }

        var group = Throttle.ThrottleGroups.Find(name) ?? throw new InvalidImageException($"Throttle group '{name}' does not exist");
        file.IgnoreFlushes = options.IgnoreFlushes;
        return new Raw.RawImage(new Throttle.ThrottledStorage(file, group), options with { Window = null }, this)
        {
            Filtered = (file as Raw.ImageStorage)?.Image,
        };
    }

    /// <summary>
    /// The blklogwrites node over its file, recording the changes in its log node: a new log from sector 1, or the end
    /// of an existing one with <c>log-append</c>; the sector size and superblock interval checked as QEMU checks them.
    /// </summary>
    private Raw.RawImage OpenLogWrites(IO.IStorage file, ImageOpenOptions options)
    {
        var settings = options.FormatOptions;
        var logPath = settings[LogWrites.LogWritesNode.LogKey];
        var log = IO.Storage.Open(logPath, !options.ReadOnly, options.LockFor(logPath, formatOwnsFile: false));
        try
        {
            ulong sectorSize;
            LogWrites.LogWritesLog.Tail start;
            if (settings.GetValueOrDefault(LogWrites.LogWritesNode.AppendKey) == "on")
            {
                if (settings.ContainsKey(LogWrites.LogWritesNode.SectorSizeKey))
                {
                    throw new InvalidOptionException("log-append and log-sector-size are mutually exclusive");
                }

                start = LogWrites.LogWritesLog.ReadTail(log);
                sectorSize = start.SectorSize;
            }
            else
            {
                sectorSize = settings.TryGetValue(LogWrites.LogWritesNode.SectorSizeKey, out var given) ? ulong.Parse(given, System.Globalization.CultureInfo.InvariantCulture) : 512;
                start = new LogWrites.LogWritesLog.Tail((uint)Math.Min(sectorSize, uint.MaxValue), 1, 0);
            }

            if (!LogWrites.LogWritesLog.IsValidSectorSize(sectorSize))
            {
                throw new InvalidOptionException($"Invalid log sector size {sectorSize}");
            }

            var interval = settings.TryGetValue(LogWrites.LogWritesNode.IntervalKey, out var every) ? ulong.Parse(every, System.Globalization.CultureInfo.InvariantCulture) : 4096;
            if (interval == 0)
            {
                throw new InvalidOptionException("Invalid log superblock update interval 0");
            }

            file.IgnoreFlushes = options.IgnoreFlushes;
            return new Raw.RawImage(new LogWrites.LogWritesStorage(file, log, start, interval), options with { Window = null }, this)
            {
                Filtered = (file as Raw.ImageStorage)?.Image,
            };
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    public void Create(string path, ImageCreateOptions options) =>
        throw new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(Name));

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        throw new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(Name));

    /// <summary>
    /// What the filter says when opened with nothing but its file: the option it requires, or the permission it lacks.
    /// Null when it opens.
    /// </summary>
    private string? Refusal(bool readOnly) => Name switch
    {
        "blklogwrites" => "A block device must be specified for \"log\"",
        "blkverify" => "A block device must be specified for \"raw\"",
        "compress" => "Compression is not supported for underlying format: file",
        "copy-before-write" => "Parameter 'target' is missing",
        "quorum" => "Number of provided children must be 1 or more",
        "replication" => "Missing the option mode",

        // Copy-on-read writes what it reads back into its node, so it takes write permission even to read.
        "copy-on-read" when readOnly => "Block node is read-only",
        _ => null,
    };

    /// <summary>QEMU's name for a filter over a file node, which no plain file name describes.</summary>
    private string JsonName(string path) => Options.JsonFilename.Prefix + Options.QemuJson.Object([
        new("driver", Options.QemuJson.String(Name)),
        new("file", Options.QemuJson.Object([new("driver", Options.QemuJson.String("file")), new("filename", Options.QemuJson.String(path))], ordered: true)),
    ], ordered: true);
}
