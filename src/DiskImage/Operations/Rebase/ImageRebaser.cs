using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.IO;

namespace DiskImage.Operations.Rebase;

/// <summary>
/// Changes an image's backing file (qemu-img rebase). In safe mode, every range the image does not
/// allocate itself and whose old backing content differs from the new backing content is first copied
/// into the image, so the guest sees the same disk afterwards.
/// </summary>
public static class ImageRebaser
{
    /// <summary>qemu-img's buffer: the most compared (and written) at once.</summary>
    private const int BufferSize = 2 << 20;

    /// <summary>Differences are found, and written, in whole sectors.</summary>
    private const int SectorSize = 512;

    /// <summary>
    /// Rebases; <paramref name="progress"/> counts the pieces compared with the new backing file as qemu-img counts them:
    /// one per piece of up to 2 MiB that the image does not allocate itself (and, when the new backing file is in the
    /// chain, that a layer above it allocates), of a total of the length in whole 2 MiB pieces (one for an image no
    /// larger), so it can pass 100 % and stop there, as qemu-img's does. A new backing file that is the
    /// image itself, or has it in its chain, is refused before the image is opened for writing. Cancellation stops
    /// the copy between chunks, before the header changes: the image still reads as before.
    /// </summary>
    public static void Rebase(RebaseOptions options, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var newName = options.BackingFile.Length == 0 ? null : options.BackingFile;
        var registry = ImageFormatRegistry.Default;
        // Unsafe mode only rewrites the name, as qemu-img does without opening the new chain (iotest 043 builds loops
        // on purpose this way); a safe rebase reads through the new chain, so a loop there is refused first.
        if (newName is not null && !options.Unsafe)
        {
            RefuseLoop(registry, options, newName);
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var image = registry.Open(options.Path, options.Format,
            new ImageOpenOptions { ReadOnly = false, OpenBackingChain = !options.Unsafe, SecretProvider = options.SecretProvider, KeySecret = options.KeySecret, DirectIo = options.DirectIo });
        if (options.BackingFormat is { } backingFormat && !QemuFormatNames.IsKnown(backingFormat))
        {
            // Checked once the image is open, before any backing file is, as qemu-img does.
            throw new InvalidOptionException($"Invalid format name: '{backingFormat}'");
        }

        // As qemu-img, only after the image opened (so its open errors come first) and before the driver is asked
        // (QEMU checks -F first too), but before anything is copied.
        if (newName is not null && options.BackingFormat is null)
        {
            throw new InvalidOptionException($"Could not change the backing file to '{newName}': backing format must be specified");
        }

        if (image is not (Qcow2Image or Formats.Qed.QedImage))
        {
            throw new UnsupportedFeatureException($"Could not change the backing file to '{newName ?? ""}': Operation not supported");
        }

        if (!options.Unsafe)
        {
            IDiskImage? newBacking = null;
            // As qemu-img: a new backing file already in the image's chain is that node, whatever -F names.
            var inChain = newName is null ? null : FindInChain(image, Qcow2Image.ResolveBackingPath(options.Path, newName));
            if (newName is not null && inChain is null)
            {
                var resolved = Qcow2Image.ResolveBackingPath(options.Path, newName);
                try
                {
                    newBacking = registry.Open(resolved, options.BackingFormat, new ImageOpenOptions { SecretProvider = options.SecretProvider, KeySecret = options.BackingKeySecret ?? options.KeySecret, ForceShare = options.ForceShare, DirectIo = options.BackingDirectIo });
                }
                catch (DiskImageException e)
                {
                    // Keep what the new file's own chain said (QEMU's "Could not open backing file: ..."), not its name twice.
                    var chain = e.Context?.IndexOf("Could not open backing file: ", StringComparison.Ordinal) ?? -1;
                    e.ReplaceContext($"Could not open new backing file '{resolved}': " + (chain >= 0 ? e.Context![chain..] : ""));
                    throw;
                }
                catch (IOException e)
                {
                    throw new ImageAccessException($"Could not open new backing file '{resolved}': {e.Message}", e);
                }
            }

            using (newBacking)
            {
                CopyDifferences(image, inChain ?? newBacking, inChain is not null, progress, cancellationToken);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();

        if (image is Formats.Qed.QedImage qed)
        {
            qed.ChangeBackingFile(newName, newName is null ? null : options.BackingFormat);
        }
        else
        {
            ((Qcow2Image)image).ChangeBackingFile(newName, newName is null ? null : options.BackingFormat);
        }
    }

    /// <summary>The node of <paramref name="image"/>'s backing chain that is the file <paramref name="path"/>, if any.</summary>
    private static IDiskImage? FindInChain(IDiskImage image, string path)
    {
        if (!IO.FileStatCalls.TryStat(path, out var device, out var inode, out _))
        {
            return null;
        }

        for (var node = image.Backing; node is not null; node = node.Backing)
        {
            if (IO.FileStatCalls.TryStat(node.FilePath, out var nodeDevice, out var nodeInode, out _) && nodeDevice == device && nodeInode == inode)
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>
    /// Writes into <paramref name="image"/> every unallocated range whose content would change under the new backing.
    /// The walk is qemu-img's, so the image's clusters are allocated in the same order and pieces (and an image
    /// rebased by either tool has the same layout): buffers of at most 2 MiB, each ending where the image's
    /// allocation status or either backing file's end changes, compared sector by sector, and each run of differing
    /// sectors written with one request.
    /// </summary>
    private static void CopyDifferences(IDiskImage image, IDiskImage? newBacking, bool newBackingInChain, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        var length = image.Length;
        // Past the old backing file's end the old content is known zeroes: those go in as zero clusters where the
        // format has them (as qemu-img does). A qcow2 version-2 image gets zero bytes, since deallocating there
        // would show the new backing file.
        var zeroClusters = image is Qcow2Image { SupportsZeroClusters: true } or Formats.Qed.QedImage;
        var oldBackingEnd = image.Backing?.Length ?? 0;
        var bufferSize = (int)Math.Min(BufferSize, Math.Max(length, 1));
        var buffers = (Old: new byte[bufferSize], New: new byte[bufferSize]);
        var pieces = length == 0 ? 0 : length / Math.Min(length, BufferSize);
        long compared = 0;
        for (long offset = 0, n; offset < length; offset += n)
        {
            cancellationToken.ThrowIfCancellationRequested();
            n = CopyPiece(image, newBacking, newBackingInChain, offset, buffers, oldBackingEnd, zeroClusters, out var skipped);
            if (!skipped)
            {
                progress?.Report(new OperationProgress(++compared, pieces));
            }
        }

        image.Flush();
    }

    /// <summary>
    /// Compares (and copies the differences of) the piece at <paramref name="offset"/>; returns its length.
    /// <paramref name="skipped"/> says it needed no comparison: the image allocates it, or (with the new backing file
    /// in the chain) no layer between the image and the new backing file does.
    /// </summary>
    private static long CopyPiece(IDiskImage image, IDiskImage? newBacking, bool newBackingInChain, long offset, (byte[] Old, byte[] New) buffers, long oldBackingEnd, bool zeroClusters, out bool skipped)
    {
        var n = Math.Min(BufferSize, image.Length - offset);
        skipped = IsAllocated(image, offset, ref n)
            || (newBackingInChain && !IsAllocatedAbove(image.Backing, newBacking, offset, ref n));
        if (skipped)
        {
            return n;
        }

        var oldIsZero = offset >= oldBackingEnd;
        if (!oldIsZero && offset + n > oldBackingEnd)
        {
            n = oldBackingEnd - offset;
        }

        var newBackingEnd = newBacking?.Length ?? 0;
        if (offset < newBackingEnd && offset + n > newBackingEnd)
        {
            n = newBackingEnd - offset;
        }

        var size = (int)n;
        var old = buffers.Old.AsSpan(0, size);
        var next = buffers.New.AsSpan(0, size);
        if (oldIsZero)
        {
            old.Clear();
        }
        else
        {
            image.Read(offset, old);
        }

        ReadOrZero(newBacking, offset, next);
        for (var done = 0; done < size;)
        {
            var run = SameStatusRun(old[done..], next[done..], out var differs);
            if (differs)
            {
                WriteRun(image, offset + done, old.Slice(done, run), oldIsZero && zeroClusters);
            }

            done += run;
        }

        return n;
    }

    /// <summary>Whether <paramref name="layer"/> itself allocates <paramref name="offset"/>; shortens <paramref name="n"/> to the run of that status.</summary>
    private static bool IsAllocated(IDiskImage layer, long offset, ref long n)
    {
        var first = layer.GetExtents(offset, n)[0];
        var statusRun = first.Offset + first.Length - offset;
        n = statusRun > 0 ? Math.Min(n, statusRun) : n;
        return first.Kind != ExtentKind.Unallocated;
    }

    /// <summary>
    /// Whether a layer from <paramref name="top"/> down to (not including) <paramref name="bottom"/> allocates
    /// <paramref name="offset"/>, as QEMU's is-allocated-above: <paramref name="n"/> shrinks to the first allocating
    /// layer's run, or to the shortest unallocated run on the way. Past the end of a layer below the top one the zeroes
    /// it reads as count as that layer's, as in QEMU.
    /// </summary>
    private static bool IsAllocatedAbove(IDiskImage? top, IDiskImage? bottom, long offset, ref long n)
    {
        for (var layer = top; layer is not null && !ReferenceEquals(layer, bottom); layer = layer.Backing)
        {
            if (offset >= layer.Length)
            {
                return !ReferenceEquals(layer, top);
            }

            var run = Math.Min(n, layer.Length - offset);
            if (IsAllocated(layer, offset, ref run))
            {
                n = run;
                return true;
            }

            n = Math.Min(n, run);
        }

        return false;
    }

    /// <summary>Length of the leading run of sectors that all differ, or all match, between the two buffers.</summary>
    private static int SameStatusRun(ReadOnlySpan<byte> old, ReadOnlySpan<byte> next, out bool differs)
    {
        var first = Math.Min(old.Length, SectorSize);
        differs = !old[..first].SequenceEqual(next[..first]);
        var i = first;
        while (i < old.Length)
        {
            var len = Math.Min(old.Length - i, SectorSize);
            if (old.Slice(i, len).SequenceEqual(next.Slice(i, len)) == differs)
            {
                break;
            }

            i += len;
        }

        return i;
    }

    /// <summary>
    /// One run of differing sectors. Known zeroes go in as a zero write where the format has zero clusters: the format
    /// then makes zero clusters of what it can (whole clusters, or a partial one whose rest reads as zeroes) as QEMU does.
    /// </summary>
    private static void WriteRun(IDiskImage image, long offset, ReadOnlySpan<byte> data, bool zeroClusters)
    {
        if (zeroClusters)
        {
            image.WriteZeroes(offset, data.Length, mayUnmap: false);
        }
        else
        {
            image.Write(offset, data);
        }
    }

    /// <summary>The new backing file, and every file of its chain that can be opened, must not be the image (by device and inode).</summary>
    private static void RefuseLoop(ImageFormatRegistry registry, RebaseOptions options, string newName)
    {
        var resolved = Qcow2Image.ResolveBackingPath(options.Path, newName);
        var files = new List<string> { resolved };
        try
        {
            // An open QEMU does not make: what it would warn of (dmg's module notices) is said by the open that counts.
            using var quiet = ImageWarnings.Listen(_ => { });
            using var newBacking = registry.Open(resolved, options.BackingFormat, new ImageOpenOptions { MetadataOnly = true, Registry = registry });
            files.AddRange(InputOverlap.ChainFiles(newBacking));
        }
        catch (DiskImageException)
        {
            // An unreadable chain is reported where it is opened for real; the direct comparison still stands.
        }

        if (InputOverlap.FindOverlap(options.Path, files) is { } same)
        {
            throw new SameFileException(same == resolved
                ? $"Could not change the backing file to '{newName}': it is the image itself"
                : $"Could not change the backing file to '{newName}': its backing chain holds the image (as '{same}')");
        }
    }

    private static void ReadOrZero(IDiskImage? image, long offset, Span<byte> buffer)
    {
        buffer.Clear();
        if (image is null || offset >= image.Length)
        {
            return;
        }

        var available = (int)Math.Min(buffer.Length, image.Length - offset);
        image.Read(offset, buffer[..available]);
    }
}
