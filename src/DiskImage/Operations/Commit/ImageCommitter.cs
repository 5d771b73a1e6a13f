using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.IO;
using DiskImage.Operations.Resize;

namespace DiskImage.Operations.Commit;

/// <summary>
/// Writes what an image and the layers between it and a base allocate into that base (qemu-img commit),
/// then empties the image unless asked to keep it.
/// </summary>
public static class ImageCommitter
{
    private const long ChunkSize = 4L << 20;

    /// <summary>
    /// Commits; <paramref name="progress"/> counts bytes as QEMU's commit job does (the ranges the layers above the base
    /// allocate, grown to the job's granularity), one step per request that job would make. A base that is the same file as a
    /// layer above it is refused. Cancellation stops the copy between chunks, before the image is emptied: the
    /// image still reads as before, and the base holds some of its data.
    /// </summary>
    /// <remarks>
    /// Locks as qemu-img commit: the image is held for writing throughout, and the base is opened for writing
    /// before anything is copied, so a base another process uses (even only to read, as a running VM reads
    /// its backing file) is refused before it is touched.
    /// </remarks>
    public static void Commit(CommitOptions options, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var registry = ImageFormatRegistry.Default;
        string basePath, baseFormat, baseName;
        bool baseProbed;
        long? growBaseTo = null;
        if (options.Format is "bochs" or "cloop" or "http" or "https" or "ftp" or "ftps" || IO.Curl.CurlStorage.IsCurlUrl(options.Path)
            || NamesDirectory(options.Path))
        {
            // QEMU opens the top for writing first: the read-only drivers refuse that before they read their header
            // (the curl drivers, named or by URL, before they look at the name), and a directory fails in open(2).
            registry.Open(options.Path, options.Format, TopOptions(options) with { ReadOnly = false }).Dispose();
        }

        using (var probe = registry.Open(options.Path, options.Format, TopOptions(options)))
        {
            if (probe.Format is Formats.Bochs.BochsFormat or Formats.Cloop.CloopFormat)
            {
                // QEMU opens the top for writing before anything else, which the read-only drivers refuse.
                throw new ImageAccessException($"Could not open '{options.Path}': Image is read-only");
            }

            var (probeLayers, found) = FindBase(probe, options);
            RefuseReopeningOverSsh(probeLayers.Count, found);
            InputOverlap.EnsureDistinct(found.FilePath, probeLayers.Select(l => l.FilePath));
            basePath = found.FilePath;
            baseFormat = found.Format.Name;
            // A base whose format was probed (no backing format recorded above it) is opened by probing again, so a
            // guessed raw base keeps QEMU's protection of its first sector.
            baseProbed = found.Format is Formats.Raw.RawFormat && probeLayers[^1].GetInfo().BackingFilenameFormat is null;

            // A base named by options (json:, blkdebug:) is written through the same nodes it was read through.
            var named = probeLayers[^1].GetInfo().FullBackingFilename;
            baseName = named is not null && (Options.JsonFilename.IsJson(named) || IO.Blkdebug.BlkdebugName.IsBlkdebug(named)) ? named : basePath;
            if (found.Length < probe.Length)
            {
                growBaseTo = probe.Length;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (growBaseTo is { } size)
        {
            var text = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ImageResizer.Resize(new ResizeOptions { Path = basePath, Format = baseFormat, Size = text, SecretProvider = options.SecretProvider, KeySecret = BaseKeySecret(options) });
        }

        IDiskImage target;
        try
        {
            target = registry.Open(baseName, baseProbed ? null : baseFormat, Unlocking(options) with { ReadOnly = false, KeySecret = BaseKeySecret(options) });
        }
        catch (ImageLockedException e)
        {
            // qemu-img reports a base it cannot lock without naming an open.
            e.ReplaceContext("");
            throw;
        }

        long jobTotal;
        using (target)
        {
            // The chain reads the base through the write lock just taken; a second lock on it would contend with that one.
            var exempt = new HashSet<string>(StringComparer.Ordinal) { Path.GetFullPath(basePath) };
            using var top = registry.Open(options.Path, options.Format, TopOptions(options) with { LockExemptPaths = exempt });
            var (layers, _) = FindBase(top, options);
            var steps = progress is null ? null : CommitJobSteps.Plan(Segments(top, layers), JobGranularity(target), top.Length);
            jobTotal = steps?.Total ?? 0;
            try
            {
                CopyAllocated(top, layers, target, steps, progress, new RateLimiter(options.RateLimit), cancellationToken);
                target.Flush();
            }
            catch (Exception e) when (e is IOException or ErrnoException)
            {
                // qemu-img runs the copy as a block job and reports its failure by errno alone.
                throw new ImageAccessException($"Block job failed: {ErrnoText.Describe(e)}", e);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();

        if (options.Base is null && !options.KeepOverlay)
        {
            using var emptied = registry.Open(options.Path, options.Format, Unlocking(options) with { ReadOnly = false, OpenBackingChain = false });
            // The formats QEMU can empty (its make_empty); the others keep their data, as qemu-img leaves them.
            Action? makeEmpty = emptied switch
            {
                Qcow2Image qcow2 => qcow2.MakeEmpty,
                Formats.Qcow.QcowImage qcow => qcow.MakeEmpty,
                _ => null,
            };
            if (makeEmpty is not null)
            {
                try
                {
                    makeEmpty();
                }
                catch (IOException e)
                {
                    throw new ImageAccessException($"Failed to empty {options.Path}: {ErrnoText.Describe(e)}", e);
                }
                catch (UnsupportedFeatureException e)
                {
                    // A file that cannot be cut (an image over SSH): qemu-img prints the driver's refusal and takes
                    // the image as emptied, its clusters already released.
                    ImageWarnings.Report(e.Message);
                }
            }
        }

        progress?.Report(new OperationProgress(jobTotal, jobTotal));
    }

    /// <summary>
    /// qemu-img reopens the base for writing, and with it every node below (its file, its own backing chain); the ssh
    /// driver cannot be reopened, so a commit into a base on an SSH server, or over one, fails before anything is
    /// written. The node QEMU names is the first such file node, numbered as it opened them: at chain depth d, the
    /// file node is 2d and its format node 2d + 1.
    /// </summary>
    private static void RefuseReopeningOverSsh(int baseDepth, IDiskImage baseImage)
    {
        var depth = baseDepth;
        for (var layer = baseImage; layer is not null; layer = layer.Backing, depth++)
        {
            if (Options.SshNode.IsSshUri(layer.FilePath))
            {
                throw new UnsupportedFeatureException($"Block format 'ssh' used by node '{Formats.Qcow2.Bitmaps.QemuNodeName.Numbered(2 * depth)}' does not support reopening files");
            }
        }
    }

    /// <summary>The layers from the image down to (not including) the base, and the base.</summary>
    private static (List<IDiskImage> Layers, IDiskImage Base) FindBase(IDiskImage top, CommitOptions options)
    {
        if (top.Backing is null)
        {
            // As QEMU: a named base is looked for in the chain first, so its absence is what is reported.
            throw new InvalidOptionException(options.Base is null
                ? "Image does not have a backing file"
                : $"Did not find '{options.Base}' in the backing chain of '{options.Path}'");
        }

        var layers = new List<IDiskImage> { top };
        var baseImage = top.Backing;
        if (options.Base is not null)
        {
            // As QEMU: a relative base name is resolved against the directory of each layer in turn, never the working directory.
            // An empty name names no image of the chain.
            var current = top;
            while (baseImage is not null
                   && (options.Base.Length == 0 || Path.GetFullPath(Qcow2Image.ResolveBackingPath(current.FilePath, options.Base)) != Path.GetFullPath(baseImage.FilePath)))
            {
                layers.Add(baseImage);
                current = baseImage;
                baseImage = baseImage.Backing;
            }

            if (baseImage is null)
            {
                throw new InvalidOptionException($"Did not find '{options.Base}' in the backing chain of '{options.Path}'");
            }
        }

        return (layers, baseImage);
    }

    /// <summary>
    /// The secret that unlocks the base: the one the image's options name for its backing chain
    /// (<c>backing.encrypt.key-secret</c>), else the image's own, as the chain was opened.
    /// </summary>
    private static string? BaseKeySecret(CommitOptions options) =>
        (Options.JsonFilename.IsJson(options.Path) ? Options.BlockSpec.FromJson(options.Path).BackingKeySecret : null) ?? options.KeySecret;

    /// <summary>Whether the image's file (named plainly, with <c>file:</c> or in a well-formed <c>json:</c> name) is a directory.</summary>
    private static bool NamesDirectory(string path)
    {
        string file;
        try
        {
            file = Options.JsonFilename.IsJson(path) ? Options.BlockSpec.FromJson(path).Filename : IO.FileProtocolPrefix.Strip(path);
        }
        catch (DiskImageException)
        {
            return false; // the open below refuses the name in its own words
        }

        return IO.FileStatCalls.TryStat(file, out _, out _, out var kind) && kind == IO.FileKind.Directory;
    }

    private static ImageOpenOptions Unlocking(CommitOptions options) => new() { SecretProvider = options.SecretProvider, KeySecret = options.KeySecret, DirectIo = options.DirectIo };

    /// <summary>The image is read here, but locked as the writer qemu-img commit is on it (it empties the image afterwards).</summary>
    private static ImageOpenOptions TopOptions(CommitOptions options) =>
        Unlocking(options) with { Permissions = LockPermissions.ConsistentRead | LockPermissions.Write | LockPermissions.Resize };

    /// <summary>
    /// Copies, as the top image reads it, every range some layer above the base allocates. A range the topmost
    /// allocating layer marks as zeroes becomes a zero write that may unmap, as QEMU's commit job issues one, so the
    /// base frees its clusters there instead of filling them with zero bytes.
    /// </summary>
    private static void CopyAllocated(IDiskImage top, List<IDiskImage> layers, IDiskImage target, CommitJobSteps? steps, IProgress<OperationProgress>? progress, RateLimiter rate, CancellationToken cancellationToken)
    {
        var length = top.Length;
        var buffer = new byte[ChunkSize];
        var pieces = new List<Piece>();
        var merged = new List<Piece>();
        for (long chunk = 0; chunk < length; chunk += ChunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunkLength = Math.Min(ChunkSize, length - chunk);
            ChunkPieces(layers, chunk, chunkLength, ref pieces, ref merged);

            if (CopyGranularity(target) is { } granularity)
            {
                pieces = Widened(pieces, granularity, chunk + chunkLength);
            }

            foreach (var piece in pieces)
            {
                if (piece.Zero)
                {
                    target.WriteZeroes(piece.Start, piece.End - piece.Start, mayUnmap: true);
                    continue;
                }

                var span = buffer.AsSpan(0, (int)(piece.End - piece.Start));
                top.Read(piece.Start, span);
                target.Write(piece.Start, span);
                rate.Account(span.Length, cancellationToken);
            }

            steps?.ReportUpTo(chunk + chunkLength, progress);
        }

        steps?.ReportUpTo(long.MaxValue, progress);
    }

    /// <summary>What the layers allocate in one chunk, in order: each range from the highest layer allocating it.</summary>
    private static void ChunkPieces(List<IDiskImage> layers, long chunk, long chunkLength, ref List<Piece> pieces, ref List<Piece> merged)
    {
        pieces.Clear();
        for (var index = 0; index < layers.Count; index++)
        {
            var layer = layers[index];
            var visible = Math.Min(chunkLength, layer.Length - chunk);
            if (visible <= 0)
            {
                continue;
            }

            // Layers come top first: what a higher layer allocates hides the layers below it.
            merged.Clear();
            AddUncovered(pieces, layer.GetExtents(chunk, visible), merged, index);
            (pieces, merged) = (merged, pieces);
        }
    }

    /// <summary>Every range the layers allocate, over the whole image, as the job's plan takes them.</summary>
    private static List<(long Start, long End, bool Zero, int Layer)> Segments(IDiskImage top, List<IDiskImage> layers)
    {
        var segments = new List<(long Start, long End, bool Zero, int Layer)>();
        var pieces = new List<Piece>();
        var merged = new List<Piece>();
        for (long chunk = 0; chunk < top.Length; chunk += ChunkSize)
        {
            ChunkPieces(layers, chunk, Math.Min(ChunkSize, top.Length - chunk), ref pieces, ref merged);
            foreach (var piece in pieces)
            {
                if (segments.Count > 0 && segments[^1].End == piece.Start && segments[^1].Zero == piece.Zero && segments[^1].Layer == piece.Layer)
                {
                    segments[^1] = segments[^1] with { End = piece.End };
                }
                else
                {
                    segments.Add((piece.Start, piece.End, piece.Zero, piece.Layer));
                }
            }
        }

        return segments;
    }

    /// <summary>QEMU's default dirty-bitmap granularity for the base: its cluster size within 4 KiB to 64 KiB, else 64 KiB.</summary>
    private static long JobGranularity(IDiskImage target) =>
        target.GetInfo().ClusterSize is int cluster and > 0 ? Math.Clamp(cluster, 4096, 65536) : 65536;

    /// <summary>
    /// The unit QEMU's commit job copies in, where it is wider than what the layers allocate: its dirty bitmap's
    /// granularity, the target's cluster size within 4 KiB to 64 KiB. That matters for qcow, whose 512-byte clusters
    /// (with a backing file) would otherwise be copied one by one; null for the other targets, whose allocation is
    /// already cluster-wide or byte-exact.
    /// </summary>
    private static long? CopyGranularity(IDiskImage target) =>
        target is Formats.Qcow.QcowImage qcow ? Math.Clamp(qcow.ClusterSize, 4096, 65536) : null;

    /// <summary>
    /// The pieces grown to whole units of <paramref name="granularity"/> (within the chunk ending at
    /// <paramref name="chunkEnd"/>), merged where they meet; each is copied as data, as the job copies a dirty unit.
    /// </summary>
    private static List<Piece> Widened(List<Piece> pieces, long granularity, long chunkEnd)
    {
        var result = new List<Piece>();
        foreach (var piece in pieces)
        {
            var start = piece.Start / granularity * granularity;
            var end = Math.Min(chunkEnd, (piece.End + granularity - 1) / granularity * granularity);
            if (result.Count > 0 && result[^1].End >= start)
            {
                result[^1] = result[^1] with { End = Math.Max(result[^1].End, end) };
            }
            else
            {
                result.Add(new Piece(start, end, Zero: false));
            }
        }

        return result;
    }

    /// <summary>
    /// Writes to <paramref name="result"/>, in order, the pieces of <paramref name="above"/> (sorted, disjoint) and the
    /// allocated parts of <paramref name="extents"/> (sorted, disjoint) that no piece of <paramref name="above"/> covers.
    /// </summary>
    private static void AddUncovered(List<Piece> above, IReadOnlyList<Extent> extents, List<Piece> result, int layer)
    {
        var i = 0;
        foreach (var extent in extents)
        {
            if (extent.Kind == ExtentKind.Unallocated)
            {
                continue;
            }

            var start = extent.Offset;
            var end = extent.Offset + extent.Length;
            while (start < end)
            {
                while (i < above.Count && above[i].End <= start)
                {
                    result.Add(above[i++]);
                }

                if (i < above.Count && above[i].Start <= start)
                {
                    start = above[i].End;
                    continue;
                }

                var stop = i < above.Count ? Math.Min(above[i].Start, end) : end;
                result.Add(new Piece(start, stop, extent.Kind == ExtentKind.Zero, layer));
                start = stop;
            }
        }

        while (i < above.Count)
        {
            result.Add(above[i++]);
        }
    }

    private readonly record struct Piece(long Start, long End, bool Zero, int Layer = 0);
}
