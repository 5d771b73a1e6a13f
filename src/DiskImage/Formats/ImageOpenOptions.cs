using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>How to open an image.</summary>
public sealed record ImageOpenOptions
{
    /// <summary>Read-only open (the default). Writers must ask for write access.</summary>
    public bool ReadOnly { get; init; } = true;

    /// <summary>Open the backing chain too (needed to read guest data; not needed for <c>info</c>).</summary>
    public bool OpenBackingChain { get; init; } = true;

    /// <summary>
    /// Treat the file as hostile: refuse images that name backing files, external data files or
    /// unknown header extensions, as an upload inspector would.
    /// </summary>
    public bool Untrusted { get; init; }

    /// <summary>The format was named by the caller rather than probed (affects guessed-raw protections).</summary>
    public bool FormatWasProbed { get; init; }

    /// <summary>Where backing files' formats are looked up; null means <see cref="ImageFormatRegistry.Default"/>.</summary>
    public ImageFormatRegistry? Registry { get; init; }

    /// <summary>Supplies the passphrase for an encrypted image by secret id; null when none are known.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary>
    /// <c>encrypt.key-secret</c>: id of the secret (asked from <see cref="SecretProvider"/>) that unlocks an
    /// encrypted image. Backing files are unlocked with the same secret, unless <c>backing.encrypt.key-secret</c> names another. Without it an encrypted image
    /// does not open, unless <see cref="MetadataOnly"/> is set.
    /// </summary>
    public string? KeySecret { get; init; }

    /// <summary>
    /// Open for the header only, as <c>qemu-img info</c> and <c>create -b</c> do: an encrypted image opens
    /// without its passphrase, and reading its data then fails with the missing-secret error.
    /// </summary>
    public bool MetadataOnly { get; init; }

    /// <summary>
    /// QEMU's <c>cache=unsafe</c>: flushes are not passed to the host file. <c>qemu-img convert</c> opens its
    /// target this way by default, since an interrupted conversion leaves an unusable target anyway.
    /// </summary>
    public bool IgnoreFlushes { get; init; }

    /// <summary>
    /// Options that pick what a container format opens (an OVA's <c>disk=N</c>); formats ignore keys they
    /// do not know.
    /// </summary>
    public IReadOnlyDictionary<string, string> FormatOptions { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Let a VMDK descriptor name extent files outside its own directory (<c>../</c> or absolute paths), as QEMU
    /// does. Off by default, because a descriptor could then make the reader open, or a writer modify, any file
    /// the user can reach; set it only for a descriptor you trust. Not passed on to backing files.
    /// </summary>
    public bool TrustExtentPaths { get; init; }

    /// <summary>The raw driver's <c>offset</c>/<c>size</c> window, from a <c>json:</c> file name; null for the whole file.</summary>
    internal Formats.Raw.RawWindow? Window { get; init; }

    /// <summary>
    /// Opens the file node under the format when a <c>json:</c> name stacks formats (a format's guest data as
    /// another format's file); null for a host file or NBD export named by the path. Not passed on to backing files.
    /// </summary>
    internal Func<ImageOpenOptions, bool, IStorage>? FileNode { get; init; }

    /// <summary>The <c>json:</c> name qemu-img prints for an image whose format sits on a <see cref="FileNode"/>.</summary>
    internal string? StackedDisplayName { get; init; }

    /// <summary>
    /// The rules of a blkdebug node between the format and its file, from a <c>json:</c> name; null for none. Not
    /// passed on to backing files.
    /// </summary>
    internal IReadOnlyList<IO.Blkdebug.BlkdebugRule>? Blkdebug { get; init; }

    /// <summary>
    /// The storage under the format: the stacked <see cref="FileNode"/>, else the named file with this open's lock
    /// (under a blkdebug node when <see cref="Blkdebug"/> has rules).
    /// </summary>
    internal IStorage OpenFile(string path, bool formatOwnsFile)
    {
        if (FileNode is { } node)
        {
            return node(this, formatOwnsFile);
        }

        var storage = Storage.Open(path, !ReadOnly, LockFor(path, formatOwnsFile));
        if (NewOutputFile && storage is HostFile file)
        {
            file.ReserveBeforeWrites = true;
        }

        return Storage.WithRules(storage, Blkdebug ?? []);
    }

    /// <summary>
    /// The image's file was created empty by this operation for a new output (convert's target, under its temporary
    /// name): its large writes reserve their blocks first (<see cref="HostFile.ReserveBeforeWrites"/>). Not passed on to
    /// backing files.
    /// </summary>
    internal bool NewOutputFile { get; init; }

    /// <summary>
    /// Receives the lines QEMU's qcow2 driver prints on stderr, so qemu-io shows them: the check a writable open runs
    /// on an image left dirty, and corruption events; null to drop them. Not passed on to backing files.
    /// </summary>
    internal Action<string>? RepairReport { get; init; }

    /// <summary>
    /// <c>backing.driver</c>: the backing file's format, overriding the one the image names (a missing or wrong backing
    /// format extension). Not passed on to backing files.
    /// </summary>
    internal string? BackingFormat { get; init; }

    /// <summary>
    /// <c>cache.direct=on</c>: QEMU opens the file with <c>O_DIRECT</c> and works in whole blocks of the alignment it
    /// probes, which shows in block status at the end of a file whose length is not a whole number of them. The
    /// file is read and written as without it here (the data is the same; only the page cache is bypassed). Set by a
    /// verb's cache mode <c>none</c> or <c>directsync</c> (qemu-img's <c>-t</c>/<c>-T</c>, qemu-io's <c>-t</c>/<c>-n</c>);
    /// backing files inherit it, as in QEMU. An <c>nfs</c> node refuses it with libnfs's readahead or page cache.
    /// </summary>
    public bool DirectIo { get; init; }

    /// <summary>
    /// <c>backing.file.filename</c>: the backing file to open instead of the one the image names. Not passed on to
    /// backing files.
    /// </summary>
    internal string? BackingPath { get; init; }

    /// <summary>
    /// <c>backing.encrypt.key-secret</c>: the secret that unlocks the backing file when it is not the image's own
    /// (<see cref="KeySecret"/>, used when this is null). Not passed on further down the chain.
    /// </summary>
    internal string? BackingKeySecret { get; init; }

    /// <summary>The node options of an image (qcow2's runtime options) are its own: a backing file opens with none.</summary>
    private static readonly IReadOnlyDictionary<string, string> NoFormatOptions = new Dictionary<string, string>();

    /// <summary>Open the image in repair mode (check -r): allowed even when the corrupt bit is set.</summary>
    public bool ForRepair { get; init; }

    /// <summary>
    /// Open for <c>qemu-img check</c>, as QEMU's check mode: a qcow2 snapshot table is not read (nor bounded) at open
    /// but by the check, which reports what is wrong with it and, repairing, cuts it back to what QEMU accepts.
    /// </summary>
    public bool ForCheck { get; init; }

    /// <summary>
    /// Full paths of the images above the one being opened (outermost first), so backing chains
    /// that loop or are absurdly deep are refused.
    /// </summary>
    internal IReadOnlyList<string> OpeningChain { get; init; } = [];

    /// <summary>
    /// QEMU's image locking (<c>file.locking</c>): on by default where the kernel has open-file-description
    /// locks, so QEMU processes and this library see each other's use of an image.
    /// </summary>
    public ImageLocking Locking { get; init; } = ImageLocking.Auto;

    /// <summary>
    /// <c>qemu-img -U</c> / <c>force-share=on</c>: a read-only open that lets others hold every permission,
    /// writers included; what it reads may be inconsistent while another process writes. Refused with
    /// write access.
    /// </summary>
    public bool ForceShare { get; init; }

    /// <summary>
    /// The permissions the opener needs. Null means what <see cref="ReadOnly"/> implies: consistent read
    /// (none for <see cref="MetadataOnly"/>), plus write when writable. Resize is asked for by resizers.
    /// </summary>
    public LockPermissions? Permissions { get; init; }

    /// <summary>
    /// The permissions others may hold meanwhile; everything by default, as qemu-img shares. A converter
    /// shares only consistent read and unchanging writes of its sources. Ignored with <see cref="ForceShare"/>.
    /// </summary>
    public LockPermissions SharedPermissions { get; init; } = LockPermissions.All;

    /// <summary>
    /// Full paths this open leaves unlocked because the caller holds a stronger lock on them through another
    /// open (commit's base, held for writing while the chain above it reads it).
    /// </summary>
    internal IReadOnlySet<string> LockExemptPaths { get; init; } = new HashSet<string>();

    /// <summary>Options for read-only opens of backing files derived from these.</summary>
    /// <remarks>
    /// As QEMU's backing links: the overlay needs consistent reads of its backing file, and lets others write
    /// and resize it only if the overlay's user lets others write the overlay.
    /// </remarks>
    public ImageOpenOptions ForBacking() => this with
    {
        ReadOnly = true,
        ForRepair = false,
        ForCheck = false,
        TrustExtentPaths = false,
        FormatWasProbed = false,
        IgnoreFlushes = false,
        NewOutputFile = false,
        Window = null,
        FileNode = null,
        StackedDisplayName = null,
        Blkdebug = null,
        RepairReport = null,
        BackingFormat = null,
        BackingPath = null,
        KeySecret = BackingKeySecret ?? KeySecret,
        BackingKeySecret = null,
        FormatOptions = NoFormatOptions,
        Permissions = MetadataOnly ? LockPermissions.None : LockPermissions.ConsistentRead,
        SharedPermissions = SharedPermissions.HasFlag(LockPermissions.Write)
            ? LockPermissions.All
            : LockPermissions.ConsistentRead | LockPermissions.WriteUnchanged,
    };

    /// <summary>
    /// The lock the file behind an image is taken with. A format that keeps metadata in the file (qcow2)
    /// writes and grows it whenever it is writable, and never lets others write or resize it under its
    /// metadata; raw passes its user's permissions through.
    /// </summary>
    internal LockRequest? LockFor(string path, bool formatOwnsFile)
    {
        if (LockExemptPaths.Count > 0 && LockExemptPaths.Contains(Path.GetFullPath(path)))
        {
            return null;
        }

        if (ForceShare && !ReadOnly)
        {
            throw new InvalidOptionException("force-share=on can only be used with read-only images");
        }

        var writable = !ReadOnly;
        var permissions = Permissions ?? ((MetadataOnly ? LockPermissions.None : LockPermissions.ConsistentRead) | (writable ? LockPermissions.Write : LockPermissions.None));
        var shared = ForceShare ? LockPermissions.All : SharedPermissions;
        if (formatOwnsFile)
        {
            var writes = writable || (permissions & (LockPermissions.Write | LockPermissions.Resize)) != 0;
            permissions = (permissions & LockPermissions.ConsistentRead) | (writes ? LockPermissions.Write | LockPermissions.Resize : LockPermissions.None);
            if (!ForceShare)
            {
                shared &= ~(LockPermissions.Write | LockPermissions.Resize);
            }
        }

        return new LockRequest(permissions, shared, Locking, path);
    }
}
