using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Operations.Io;

/// <summary>
/// Runs qemu-io command lines against an image and describes each outcome the way qemu-io prints it.
/// A session made from a path opens, closes and reopens its image as <c>open</c>, <c>close</c> and
/// <c>reopen</c> ask; one made from an open image works on that image and never disposes it.
/// </summary>
public sealed class QemuIoSession : IDisposable
{
    private readonly ImageFormatRegistry _registry;
    private readonly bool _ownsImage;
    private string? _overlayPath;

    /// <summary>The output of the command running now: where the driver's stderr lines (corruption events) go.</summary>
    private QemuIoOutput? _current;

    /// <summary>
    /// The completion lines of aio requests submitted and not yet reported, oldest first, each with whether it ends with
    /// a flush (a write under a writethrough cache), which completes only when a command waits for more than its own I/O.
    /// </summary>
    private readonly List<PendingCompletion> _pendingCompletions = [];

    /// <summary>Numbers the flushes of outstanding writes in the order they start.</summary>
    private int _flushesStarted;

    /// <summary>How many nodes QEMU would have named automatically so far (<c>#blockN..</c>): two per image of each chain opened.</summary>
    private long _nodesNamed;

    /// <summary>A reopen of the <c>-s</c> overlay has gone through (QEMU then words a read-only reopen's failure differently).</summary>
    private bool _overlayReopened;

    /// <summary>The number in the automatic name of the open image's own node.</summary>
    private long _topNodeNumber;

    /// <summary>Works on <paramref name="image"/>, which the caller keeps owning.</summary>
    public QemuIoSession(IDiskImage image)
    {
        Image = image ?? throw new ArgumentNullException(nameof(image));
        _registry = ImageFormatRegistry.Default;
    }

    internal QemuIoSession(ImageFormatRegistry registry)
    {
        _registry = registry;
        _ownsImage = true;
    }

    /// <summary>The open image, or null after <c>close</c>.</summary>
    internal IDiskImage? Image { get; private set; }

    /// <summary>
    /// Commands come from <c>-c</c>: qemu-io runs no event loop between them, so an aio request reports its completion
    /// only when a later command waits for I/O (or at exit), not at once as when it reads standard input.
    /// </summary>
    internal bool DeferAioCompletions { get; init; }

    /// <summary><c>--image-opts</c>: <c>open</c> reads its operand as an option list, not as a path.</summary>
    internal bool ImageOptsSyntax { get; init; }

    /// <summary>The secrets of the command line's <c>--object secret</c>s, for images <c>open</c> names later.</summary>
    internal Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary>How <see cref="Image"/> was opened (null for an image handed in).</summary>
    internal QemuIoOpenSettings? Settings { get; private set; }

    /// <summary>The breakpoints of a <c>blkdebug:</c> node under a raw image (null for any other image).</summary>
    internal BlkdebugBreakpoints? Breakpoints { get; private set; }

    /// <summary>Reads copy what they get from the backing file into the image (<c>-C</c>).</summary>
    internal bool CopyOnRead => Settings?.CopyOnRead == true;

    /// <summary>Writes go through the <c>compress</c> filter: whole clusters, each stored compressed.</summary>
    internal bool Compress => Settings?.Compress == true;

    /// <summary>Discards do nothing (<c>discard=ignore</c>).</summary>
    internal bool IgnoreDiscards => Settings?.IgnoreDiscards == true;

    /// <summary>The limits of a blkdebug node above the image's format (null when there is none): write-zeroes and discard requests are split by them.</summary>
    internal IO.Blkdebug.BlkdebugLimits? TopBlkdebugLimits { get; private set; }

    /// <summary>
    /// A blkdebug node above the image with rules (all raised by copy-on-read): copy-on-read writes through it. Null
    /// when the image has no such node.
    /// </summary>
    internal IO.Blkdebug.BlkdebugStorage? TopBlkdebugNode { get; private set; }

    /// <summary>Parses and runs one command line.</summary>
    public IoCommandOutcome Execute(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var output = new QemuIoOutput();
        _current = output;
        try
        {
            var ret = Run(commandLine, output);
            return output.ToOutcome(ret < 0);
        }
        finally
        {
            _current = null;
        }
    }

    private int Run(string commandLine, QemuIoOutput output)
    {
        // qemu-io splits on single spaces only; empty words are dropped.
        var words = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return 0;
        }

        var command = QemuIoCommandTable.Find(words[0]);
        if (command is null)
        {
            output.Diagnostic($"command \"{words[0]}\" not found");
            return QemuIoErrno.EINVAL;
        }

        if (command.Scope == QemuIoCommandScope.Image && Image is null)
        {
            output.Diagnostic("no file open, try 'help open'");
            return QemuIoErrno.EINVAL;
        }

        var count = words.Length - 1;
        if (count < command.ArgMin || (command.ArgMax != -1 && count > command.ArgMax))
        {
            output.Diagnostic(command.ArgMax == -1
                ? $"bad argument count {count} to {words[0]}, expected at least {command.ArgMin} arguments"
                : command.ArgMin == command.ArgMax
                    ? $"bad argument count {count} to {words[0]}, expected {command.ArgMin} arguments"
                    : $"bad argument count {count} to {words[0]}, expected between {command.ArgMin} and {command.ArgMax} arguments");
            return QemuIoErrno.EINVAL;
        }

        if (command.NeedsWrite && Image is { CanWrite: false })
        {
            output.Error("Block node is read-only");
            return QemuIoErrno.EPERM;
        }

        if (command.NeedsWrite)
        {
            // qemu-io's device takes write permission for the command (and keeps it), whatever the arguments.
            HoldsWriter = true;
        }

        var mark = output.Lines.Count;
        var deferred = DeferAioCompletions && Breakpoints is null && command.Name is "aio_read" or "aio_write";
        output.Polling = deferred ? null : CompletePending;
        var ret = command.Run(this, words, output);
        output.Polling = null;
        if (ret >= 0 && command.NeedsWrite && Settings is { IgnoreFlushes: false } settings && Image is { CanWrite: true } image)
        {
            // A completed write survives the process being killed, as with qemu-io (unless cache=unsafe): writethrough
            // puts it on stable storage, metadata included; writeback hands qcow2's cached metadata to the host.
            try
            {
                if ((settings.WriteThrough || settings.DefaultCache) && image is Formats.Raw.RawImage { File: Formats.Filters.LogWrites.LogWritesStorage logWrites })
                {
                    // The log records each flush, so it must see the ones QEMU's backend makes, and only those.
                    logWrites.FlushAfterCommand();
                }
                else if (settings.WriteThrough)
                {
                    image.Flush();
                }
                else if (image is Qcow2Image qcow2)
                {
                    qcow2.WriteMetadataToHost();
                }
            }
            catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
            {
                ret = QemuIoErrno.From(e);
                if (command.Name is "write" or "writev" or "aio_write")
                {
                    // QEMU writes this metadata (new L2 tables, L1 entries, refcounts) or flushes within the request,
                    // so the request itself fails: its success lines give way to its failure.
                    output.ReplaceOutputSince(mark, $"{command.Name} failed: {QemuIoErrno.Text(ret)}");
                }
                else
                {
                    output.Out($"flush failed: {QemuIoErrno.Text(ret)}");
                }
            }
        }

        if (deferred && output.CompletionStart is { } start)
        {
            var flushes = command.Name == "aio_write" && Settings is { } current && (current.WriteThrough || current.DefaultCache);
            _pendingCompletions.Add(new PendingCompletion(output.TakeFrom(start), flushes));
        }

        return ret;
    }

    /// <summary>
    /// The event loop runs while a command waits: outstanding aio requests complete and print their lines. Requests
    /// completing together report newest first, the order QEMU's thread pool most often reports them in (its order
    /// varies with timing). A write under a writethrough cache then flushes: its flush starts at the first wait and
    /// it completes only when a command waits for more than its own request, after the requests without a flush,
    /// its flush queued behind those started earlier.
    /// </summary>
    private void CompletePending(QemuIoOutput output, QemuIoWait wait)
    {
        var all = wait == QemuIoWait.Drain || (wait == QemuIoWait.Write && Settings is { } current && (current.WriteThrough || current.DefaultCache));
        for (var i = _pendingCompletions.Count - 1; i >= 0; i--)
        {
            var pending = _pendingCompletions[i];
            if (!pending.Flushes)
            {
                output.AddRange(pending.Lines);
                _pendingCompletions.RemoveAt(i);
            }
            else
            {
                pending.FlushOrder ??= ++_flushesStarted;
            }
        }

        if (all)
        {
            foreach (var pending in _pendingCompletions.OrderBy(p => p.FlushOrder))
            {
                output.AddRange(pending.Lines);
            }

            _pendingCompletions.Clear();
        }
    }

    /// <summary>An aio request's completion lines, not yet printed.</summary>
    private sealed class PendingCompletion(List<IoLine> lines, bool flushes)
    {
        public List<IoLine> Lines { get; } = lines;

        /// <summary>The request is a write that flushes before it completes.</summary>
        public bool Flushes { get; } = flushes;

        /// <summary>When its flush started, among the others' (null: not yet).</summary>
        public int? FlushOrder { get; set; }
    }

    /// <summary>Opens an image as <c>open</c> does; false (with qemu-io's line) when one is open already or it cannot be opened.</summary>
    internal bool Open(QemuIoOpenSettings settings, QemuIoOutput output)
    {
        if (Image is not null)
        {
            output.Error("file open already, try 'help close'");
            return false;
        }

        try
        {
            settings = settings.WithoutFilters();
        }
        catch (InvalidOptionException e)
        {
            WarnIfProbedRawOpened(settings, e, output);
            output.Error(settings.NamedByOptions ? $"can't open: {e.Message}" : $"can't open device {settings.NameForErrors ?? settings.Path}: {e.Message}");
            return false;
        }

        if (settings.CopyOnRead && settings.ReadOnly)
        {
            // The -C flag is checked when the device opens; the filter node fails to take write permission instead.
            var reason = settings.CopyOnReadFilter ? "Block node is read-only" : "Can't use copy-on-read on read-only device";
            output.Error(settings.NamedByOptions ? $"can't open: {reason}" : $"can't open device {settings.NameForErrors ?? settings.Path}: {reason}");
            return false;
        }

        if (TryOpen(settings, output) is not { } failure)
        {
            NameNodes();
            return true;
        }

        WarnIfProbedRawOpened(settings, failure, output);

        // A file that did not open named only its own node; anything later had named the image's node too.
        _nodesNamed += failure is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
            || failure.Message.Contains("No such file or directory", StringComparison.Ordinal) ? 1 : 2;

        output.Error(settings.NamedByOptions
            ? $"can't open: {NamingProbedFormat(settings, OpenFailure(settings.OpenName, failure.Message))}"
            : $"can't open device {settings.NameForErrors ?? settings.Path}: {NamingProbedFormat(settings, OpenFailure(settings.OpenName, failure.Message))}");
        if (failure is ImageLockedException locked)
        {
            output.Diagnostic(locked.Hint);
        }

        return false;
    }

    /// <summary>
    /// qemu-io's own device asks for write access: from a read-write open, or from the first writing command (write,
    /// writev, aio_write, discard, truncate) on a writable image, until a reopen that leaves the image read-only
    /// (<c>-r</c>, or no <c>-w</c> on a read-only one) drops it.
    /// </summary>
    internal bool HoldsWriter { get; set; }

    /// <summary>
    /// The open image's node name as QEMU's errors give it: the one the options gave it, else the automatic one (a
    /// counter of the nodes named in the process, then two random digits, as QEMU's id generator makes it).
    /// </summary>
    internal string TopNodeName => Settings?.NodeNames.GetValueOrDefault("node-name")
        ?? $"#block{_topNodeNumber}{Random.Shared.Next(100):D2}";

    /// <summary>
    /// Counts the nodes QEMU names as it opens an image: each image of the chain opens its file node first, then its
    /// own, so the image's own node is the second.
    /// </summary>
    private void NameNodes()
    {
        HoldsWriter = !Settings!.ReadOnly;
        _overlayReopened = false;
        var layers = 0;
        for (var image = Image; image is not null; image = image.Backing)
        {
            layers++;
        }

        // A -s overlay comes after the image's chain: creating it names three nodes, opening it two (its own last).
        var named = Settings.Snapshot ? (2 * (layers - 1)) + 5 : 2 * layers;
        _topNodeNumber = _nodesNamed + named - (Settings.Snapshot ? 1 : 2 * layers - 1);
        _nodesNamed += named;
    }

    /// <summary>Opens the image; null when it opened, else why not.</summary>
    private Exception? TryOpen(QemuIoOpenSettings settings, QemuIoOutput output)
    {
        try
        {
            Image = settings.Snapshot ? OpenWithOverlay(settings) : OpenPlain(settings, settings.ReadOnly, line => (_current ?? output).Diagnostic(line));
            Settings = settings;
            var spec = Options.JsonFilename.IsJson(settings.Path) ? Options.BlockSpec.FromJson(settings.Path) : null;
            TopBlkdebugLimits = spec?.TopBlkdebugLimits;
            TopBlkdebugNode = Image is IO.Blkdebug.BlkdebugImage top ? top.Node : spec?.TopBlkdebugRules is { } rules ? new IO.Blkdebug.BlkdebugStorage(new Formats.Raw.ImageStorage(Image), rules) : null;
            if (Image is Qcow2Image qcow2 && settings.InactiveL2OverlapCheck)
            {
                qcow2.CheckInactiveL2Overlap = true;
            }

            Breakpoints = IO.Blkdebug.BlkdebugName.IsBlkdebug(settings.Path) && Image.Format.Name is "raw" or "qcow2" ? new BlkdebugBreakpoints(Math.Max(1, settings.BlkdebugAlign)) : null;
            if (!settings.ReadOnly && !settings.Snapshot && ProbedRawUnderTest(Image) is { } tested)
            {
                // A blkverify node's image under test is probed too, and warned about first, as its own node.
                WarnProbedRaw(output, tested);
            }

            if (settings.Format is null && spec?.Driver is null && !settings.ReadOnly && !settings.Snapshot && Image.Format.Name == "raw")
            {
                // QEMU's warning for a probed raw image opened for writing (it then guards block 0), naming the node
                // probed: the file without a file: or device prefix (an nfs:// node by libnfs's name for it, an iscsi
                // node by its options).
                var node = spec?.Filename ?? settings.Path;
                WarnProbedRaw(output, IO.Iscsi.IscsiNode.IsIscsi(node) ? IO.Iscsi.IscsiNode.FromName(node).NodeName
                    : IO.Nfs.NfsUrl.IsNfs(settings.Path) ? IO.Nfs.NfsNode.FromUrl(settings.Path).NodeName : Image.FilePath);
            }

            return null;
        }
        catch (Exception e) when (e is DiskImageException or IOException or UnauthorizedAccessException)
        {
            DeleteOverlay();
            return e;
        }
        catch (VerificationMismatchException) when (!settings.ReadOnly && !settings.Snapshot && settings.OpenName.StartsWith(IO.Blkverify.BlkverifyName.Prefix, StringComparison.Ordinal))
        {
            // The probe of the format over a blkverify node read the difference (which ends the run); QEMU had warned
            // about the image under test as it opened that node, before the probe.
            var testName = IO.Blkverify.BlkverifyName.Parse(settings.OpenName).Test;
            if (_registry.Probe(testName) is Formats.Raw.RawFormat)
            {
                WarnProbedRaw(output, testName);
            }

            throw;
        }
    }

    /// <summary>
    /// QEMU's raw driver warns about a probed image as it opens, before the block layer refuses what is left of the
    /// options (or the raw window is found bad): the warning then comes before the failure.
    /// </summary>
    private void WarnIfProbedRawOpened(QemuIoOpenSettings settings, Exception failure, QemuIoOutput output)
    {
        if (FailedAfterProbedRawOpened(settings, failure))
        {
            WarnProbedRaw(output, settings.Path);
        }
    }

    /// <summary>
    /// An option the probed format does not take is refused by the block layer once that format opened, naming it:
    /// the options are read before the probe here, so the format is named afterwards.
    /// </summary>
    private string NamingProbedFormat(QemuIoOpenSettings settings, string reason)
    {
        const string rawRefusal = "Block format 'raw' does not support the option";
        if (settings.Format is not null || Options.JsonFilename.IsJson(settings.Path) || !reason.StartsWith(rawRefusal, StringComparison.Ordinal))
        {
            return reason;
        }

        try
        {
            return _registry.Probe(settings.Path) is { } probed && probed.Name != "raw"
                ? $"Block format '{probed.Name}' does not support the option{reason[rawRefusal.Length..]}"
                : reason;
        }
        catch (Exception e) when (e is DiskImageException or IOException or UnauthorizedAccessException)
        {
            return reason;
        }
    }

    /// <summary>Whether the failure is one QEMU meets after a probed raw node opened for writing (an option left over, a bad window).</summary>
    private bool FailedAfterProbedRawOpened(QemuIoOpenSettings settings, Exception failure)
    {
        var reason = OpenFailure(settings.OpenName, failure.Message);
        if (settings.Format is not null || settings.ReadOnly || settings.Snapshot || Options.JsonFilename.IsJson(settings.Path)
            || !(reason.StartsWith("Block format 'raw' does not support the option", StringComparison.Ordinal)
                || reason.StartsWith("The sum of offset", StringComparison.Ordinal) || reason.StartsWith("Offset (", StringComparison.Ordinal)
                || reason.StartsWith("Specified size is not multiple of", StringComparison.Ordinal)))
        {
            return false;
        }

        try
        {
            return _registry.Probe(settings.Path) is Formats.Raw.RawFormat;
        }
        catch (Exception e) when (e is DiskImageException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The file of a blkverify node's image under test when its format was probed as raw; null otherwise.</summary>
    private static string? ProbedRawUnderTest(IDiskImage image) =>
        image is Formats.Raw.RawImage { File: IO.Blkverify.BlkverifyStorage { Test: Formats.Raw.ImageStorage { Image: Formats.Raw.RawImage { Format: Formats.Raw.RawFormat } tested } } } ? tested.FilePath : null;

    private static void WarnProbedRaw(QemuIoOutput output, string name)
    {
        output.Diagnostic($"WARNING: Image format was not specified for '{name}' and probing guessed raw.");
        output.Diagnostic("         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.");
        output.Diagnostic("         Specify the 'raw' format explicitly to remove the restrictions.");
    }

    /// <summary>
    /// The reason, worded as qemu-io words it: the library names the image once in front of every open failure (as
    /// qemu-img prints it); qemu-io does not, so one such prefix goes. A file error keeps the one its protocol adds.
    /// </summary>
    private static string OpenFailure(string path, string message)
    {
        // The name is in the message with its line breaks joined (a multi-line json: name), as the message is.
        var prefix = $"Could not open '{path.ReplaceLineEndings(" ")}': ";
        // An NBD server's own reason, the vhdx hint naming the repair command, and gluster's usage and hint lines
        // stay on lines of their own, as qemu-io prints them.
        var text = message.ReplaceLineEndings(" ").Trim().Replace(" server reported: ", "\nserver reported: ", StringComparison.Ordinal)
            .Replace(" To replay the log, run: ", "\nTo replay the log, run:\n", StringComparison.Ordinal)
            .Replace(" Usage: file=gluster", "\nUsage: file=gluster", StringComparison.Ordinal)
            .Replace(" failed to connect hint: failed on ", " failed to connect\nhint: failed on ", StringComparison.Ordinal);
        return text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..] : text;
    }

    /// <summary>
    /// <c>close</c>: flushes and releases the image (and removes a <c>-s</c> overlay). The line QEMU reports when its
    /// metadata could not be written back (after writes refused by the inactive-L2 overlap check) goes to
    /// <paramref name="output"/>.
    /// </summary>
    internal void Close(QemuIoOutput? output = null)
    {
        if (output is not null)
        {
            // Closing drains the image: outstanding requests complete first.
            CompletePending(output, QemuIoWait.Drain);
        }

        if (Image is Qcow2Image { InactiveL2RefusalErrno: { } errno })
        {
            output?.Error($"Failed to flush the refcount block cache: {ErrnoException.Text(errno)}");
        }

        if (_ownsImage)
        {
            Image?.Dispose();
        }

        Image = null;
        Settings = null;
        Breakpoints = null;
        TopBlkdebugNode = null;
        DeleteOverlay();
    }

    /// <summary>Closes and opens again with <paramref name="settings"/>, going back to the old settings if that fails.</summary>
    internal bool Reopen(QemuIoOpenSettings settings, QemuIoOutput output)
    {
        var old = Settings;
        if (!_ownsImage || old is null)
        {
            output.Error("Cannot reopen this image");
            return false;
        }

        if (old.Snapshot)
        {
            // QEMU unlinks its temporary overlay once open: a reopen that keeps the file's open flags reuses the
            // descriptor; one that changes them (read-only, O_DIRECT) opens the file by its name again, and fails.
            // Once a reopen has gone through, the overlay's node refuses to turn read-only under its writer first.
            if (settings.ReadOnly && !old.ReadOnly && _overlayReopened)
            {
                output.Error($"Read-only block node '{TopNodeName}' cannot support read-write users");
                return false;
            }

            if (settings.ReadOnly != old.ReadOnly || settings.DirectIo != old.DirectIo)
            {
                output.Error($"Could not open '{_overlayPath}': No such file or directory");
                return false;
            }

            CompletePending(output, QemuIoWait.Drain);
            Settings = settings;
            _overlayReopened = true;
            return true;
        }

        CompletePending(output, QemuIoWait.Drain);
        Image?.Flush();
        Close();
        if (TryOpen(settings, new QemuIoOutput()) is not { } failure)
        {
            return true;
        }

        // As QEMU's reopen: the reason alone, and the image stays as it was. An option no node takes is one a reopen
        // cannot change (it was not set before).
        var reason = OpenFailure(settings.OpenName, failure.Message);
        var unsupported = System.Text.RegularExpressions.Regex.Match(reason, "^Block (?:format|protocol) '[^']*' does(?: not|n't) support the option '(?:[a-z-]+\\.)*([^'.]*)'$");
        output.Error(unsupported.Success ? $"Cannot change the option '{unsupported.Groups[1].Value}'" : reason);
        TryOpen(old, new QemuIoOutput());
        return false;
    }

    private IDiskImage OpenPlain(QemuIoOpenSettings settings, bool readOnly, Action<string>? repairReport = null) => _registry.Open(settings.OpenName, settings.Format, new ImageOpenOptions
    {
        RepairReport = repairReport,
        ReadOnly = readOnly,
        SecretProvider = settings.SecretProvider,
        KeySecret = settings.KeySecret,
        ForceShare = settings.ForceShare,
        IgnoreFlushes = settings.IgnoreFlushes,
        DirectIo = settings.DirectIo,
        Registry = _registry,
    });

    /// <summary><c>-s</c>: a temporary qcow2 overlay over the image, which stays untouched, as QEMU's snapshot mode does.</summary>
    private IDiskImage OpenWithOverlay(QemuIoOpenSettings settings)
    {
        string format;
        long size;
        using (var baseImage = OpenPlain(settings, readOnly: true))
        {
            format = baseImage.Format.Name;
            size = baseImage.Length;
        }

        _overlayPath = TemporaryOverlayName();
        Qcow2Format.Instance.Create(_overlayPath, new Qcow2CreateOptions
        {
            Size = size,
            // A json: or nbd: name (a luks image named by --image-opts) is no path to make absolute.
            BackingFile = Options.JsonFilename.IsJson(settings.Path) || Nbd.Client.NbdUri.IsNbd(settings.Path) ? settings.Path : Path.GetFullPath(settings.Path),
            BackingFormat = format,
            SecretProvider = settings.SecretProvider,
        });
        // The overlay is the image's top node: read-only with -r (writes then fail as on any read-only node), and never
        // opened with force-share, which applies to the image below it.
        return OpenPlain(settings with { Path = _overlayPath, Format = "qcow2", ForceShare = false }, settings.ReadOnly);
    }

    /// <summary>
    /// Where QEMU puts a <c>-s</c> overlay: <c>vl.</c> and six random characters in GLib's temporary directory
    /// (<c>TMPDIR</c> as given, else <c>/tmp</c>), except that <c>/tmp</c>, often memory, becomes <c>/var/tmp</c>.
    /// </summary>
    private static string TemporaryOverlayName()
    {
        const string characters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        var directory = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp";
        if (directory == "/tmp")
        {
            directory = "/var/tmp";
        }

        while (true)
        {
            var name = $"{directory}/vl.{string.Concat(Enumerable.Range(0, 6).Select(_ => characters[Random.Shared.Next(characters.Length)]))}";
            if (!File.Exists(name))
            {
                return name;
            }
        }
    }

    private void DeleteOverlay()
    {
        if (_overlayPath is not null)
        {
            File.Delete(_overlayPath);
            _overlayPath = null;
        }
    }

    /// <summary>Releases an image this session opened.</summary>
    public void Dispose() => Close();
}
