using DiskImage.Formats;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// What <c>qemu-img convert [-f fmt] [-O fmt] [-o opts] [-c] [-S size] [-n] [--target-is-zero] [-m N] [-W] SRC... DST</c> asks for.
/// </summary>
public sealed record ConvertOptions
{
    /// <summary>qemu-img's default <c>-S</c>: zero runs of at least 4 KiB are left unwritten.</summary>
    public const long DefaultMinSparseSize = 4096;

    /// <summary>qemu-img's largest accepted <c>-S</c>.</summary>
    public const long MaxMinSparseSize = 16 << 20;

    /// <summary>qemu-img's default <c>-m</c>.</summary>
    public const int DefaultWorkers = 8;

    /// <summary>qemu-img's largest accepted <c>-m</c>.</summary>
    public const int MaxWorkers = 16;

    /// <summary>Source images, concatenated in order.</summary>
    public required IReadOnlyList<string> Sources { get; init; }

    /// <summary><c>-f</c>: format of every source; probed per source when null.</summary>
    public string? SourceFormat { get; init; }

    /// <summary>The target image path.</summary>
    public required string Target { get; init; }

    /// <summary><c>-O</c>: target format.</summary>
    public string TargetFormat { get; init; } = "raw";

    /// <summary><c>-o</c>: the target format's creation options.</summary>
    public IReadOnlyDictionary<string, string> TargetOptions { get; init; } = new Dictionary<string, string>();

    /// <summary><c>-c</c>: store clusters compressed (the target format must support it).</summary>
    public bool Compress { get; init; }

    /// <summary>
    /// <c>-S</c>: zero runs at least this long are not written; 0 writes every byte (fully allocates).
    /// A multiple of 512 up to <see cref="MaxMinSparseSize"/>.
    /// </summary>
    public long MinSparseSize { get; init; } = DefaultMinSparseSize;

    /// <summary><c>-n</c>: the target exists already; do not create it.</summary>
    public bool NoCreate { get; init; }

    /// <summary><c>--target-is-zero</c>: the existing target reads as zeroes (requires <see cref="NoCreate"/>).</summary>
    public bool TargetIsZero { get; init; }

    /// <summary><c>-m</c>: parallel workers (1 to 16), capped by the machine's cores.</summary>
    public int Workers { get; init; } = DefaultWorkers;

    /// <summary><c>-W</c>: allow writes out of order.</summary>
    public bool OutOfOrderWrites { get; init; }

    /// <summary>
    /// Copy whole data extents of a raw source into a raw target inside the kernel (<c>copy_file_range</c>) where the
    /// host allows it.
    /// </summary>
    public bool CopyOffload { get; init; } = true;

    /// <summary>
    /// <c>-C</c>: also copy the data that lies plainly in a source file (qcow2 clusters, backing layers) into a raw target
    /// inside the kernel once the zero scan has read it, instead of writing it from the buffer. Off by default: on ext4
    /// it costs more wall time than the write from the buffer (docs/BENCHMARKS.md); on file systems that share extents
    /// it saves the copy.
    /// </summary>
    public bool CopyScannedData { get; init; }

    /// <summary>Where formats are looked up; null means <see cref="ImageFormatRegistry.Default"/>.</summary>
    public ImageFormatRegistry? Registry { get; init; }

    /// <summary>
    /// <c>-t</c>: the target's cache mode. The default, <c>unsafe</c> as in qemu-img, passes no flush to
    /// the host; any other mode (<c>writeback</c>, <c>none</c>, <c>writethrough</c>, <c>directsync</c>)
    /// makes the finished target durable.
    /// </summary>
    public string TargetCache { get; init; } = "unsafe";

    /// <summary><c>-l</c>: read the first source from this internal snapshot (the others as they are, as qemu-img does) (<c>snapshot.name=N</c>, <c>snapshot.id=I</c> or a bare id or name).</summary>
    public string? Snapshot { get; init; }

    /// <summary>Open sources as untrusted uploads: refuse backing files, data files and unknown header extensions.</summary>
    public bool UntrustedSources { get; init; }

    /// <summary>Bytes of data per second the copy may move (qemu-img convert's <c>-r</c>); 0 for no limit.</summary>
    public long RateLimit { get; init; }

    /// <summary>
    /// qemu-img convert's <c>--salvage</c> when set: source sectors that cannot be read are copied as zeroes and
    /// reported here (one line each, without a program prefix) instead of failing the copy.
    /// </summary>
    public Action<string>? SalvageWarning { get; init; }

    /// <summary>
    /// <c>--bitmaps</c>: copy every persistent bitmap of the (single, qcow2 version 3) source into the qcow2 version 3
    /// target once the data is copied, each with its granularity and enabled state. Without it bitmaps are not copied.
    /// </summary>
    public bool CopyBitmaps { get; init; }

    /// <summary><c>--skip-broken-bitmaps</c>: with <see cref="CopyBitmaps"/>, inconsistent bitmaps are skipped (reported to <see cref="BitmapWarning"/>) instead of refused.</summary>
    public bool SkipBrokenBitmaps { get; init; }

    /// <summary>Receives qemu-img's warning for each inconsistent bitmap skipped (without a program prefix).</summary>
    public Action<string>? BitmapWarning { get; init; }

    /// <summary>Supplies secrets by id, for encrypted sources and targets.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c> of each source (same order as <see cref="Sources"/>); null entries for plain ones.</summary>
    public IReadOnlyList<string?> SourceKeySecrets { get; init; } = [];

    /// <summary>
    /// <c>encrypt.key-secret</c> of an existing target (<see cref="NoCreate"/>, qemu-img's <c>--target-image-opts</c>);
    /// when null, the <c>encrypt.key-secret</c> of <see cref="TargetOptions"/>.
    /// </summary>
    public string? TargetKeySecret { get; init; }

    /// <summary><c>-U</c>: open the sources sharing every permission, so they can be read while another process writes them.</summary>
    public bool ForceShare { get; init; }
    /// <summary>Source cache mode <c>none</c> or <c>directsync</c> (<c>-T</c>): the sources' nodes get <c>cache.direct=on</c>.</summary>
    public bool SourceDirectIo { get; init; }

    /// <summary>
    /// <c>-B</c>: the new target is an overlay over this file (stored as given, resolved relative to the target), and
    /// only what the source's own layer holds is written: what it leaves unallocated is left to the backing file, so
    /// the backing file should read as the source's backing file does (qemu-img's rule; it is not compared). With
    /// <see cref="NoCreate"/> the existing target's backing file is kept and those ranges are not written. Overrides
    /// <c>backing_file</c> in <see cref="TargetOptions"/>, which means the same.
    /// </summary>
    public string? BackingFile { get; init; }

    /// <summary><c>-F</c>: format of <see cref="BackingFile"/>; required whenever a new target gets a backing file.</summary>
    public string? BackingFormat { get; init; }

    /// <summary>
    /// An incremental backup: the name of a persistent dirty bitmap of the (single, qcow2) source. Only the bitmap's
    /// dirty granules are copied, as the source reads there; everything else is left to the target's backing file
    /// (<see cref="BackingFile"/>, the previous backup, required). The bitmap must not be <c>in_use</c>; it is only
    /// read, so rotating bitmaps is the caller's step.
    /// </summary>
    public string? Bitmap { get; init; }
}
