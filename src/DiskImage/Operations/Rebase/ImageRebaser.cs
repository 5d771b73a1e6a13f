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
    private const int ChunkSize = 1 << 20;

    /// <summary>
    /// Rebases; <paramref name="progress"/> counts guest bytes of the image compared with the new backing file. A new backing file that is the
    /// image itself, or has it in its chain, is refused before the image is opened for writing. Cancellation stops
    /// the copy between chunks, before the header changes: the image still reads as before.
    /// </summary>
    public static void Rebase(RebaseOptions options, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var newName = options.BackingFile.Length == 0 ? null : options.BackingFile;
        if (newName is not null && options.BackingFormat is null)
        {
            throw new InvalidOptionException($"Could not change the backing file to '{newName}': backing format must be specified");
        }

        var registry = ImageFormatRegistry.Default;
        // Unsafe mode only rewrites the name, as qemu-img does without opening the new chain (iotest 043 builds loops
        // on purpose this way); a safe rebase reads through the new chain, so a loop there is refused first.
        if (newName is not null && !options.Unsafe)
        {
            RefuseLoop(registry, options, newName);
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var image = registry.Open(options.Path, options.Format,
            new ImageOpenOptions { ReadOnly = false, OpenBackingChain = !options.Unsafe, SecretProvider = options.SecretProvider, KeySecret = options.KeySecret });
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
                    newBacking = registry.Open(resolved, options.BackingFormat, new ImageOpenOptions { SecretProvider = options.SecretProvider, KeySecret = options.BackingKeySecret ?? options.KeySecret, ForceShare = options.ForceShare });
                }
                catch (DiskImageException e)
                {
                    e.ReplaceContext($"Could not open new backing file '{resolved}': ");
                    throw;
                }
                catch (IOException e)
                {
                    throw new ImageAccessException($"Could not open new backing file '{resolved}': {e.Message}", e);
                }
            }

            using (newBacking)
            {
                CopyDifferences(image, inChain ?? newBacking, progress, cancellationToken);
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

    /// <summary>Writes into <paramref name="image"/> every unallocated range whose content would change under the new backing.</summary>
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

    private static void CopyDifferences(IDiskImage image, IDiskImage? newBacking, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        var length = image.Length;
        var clusterSize = image is Qcow2Image q ? q.ClusterSize : image.GetInfo().ClusterSize ?? 65536;
        var zeroClusters = image is Qcow2Image { SupportsZeroClusters: true };
        var step = Math.Max(clusterSize, 64 * 1024);
        // Past the old backing file's end the old content is known zeroes: those go in as zero clusters where
        // the version has them (as qemu-img does). A version-2 image gets zero bytes, since deallocating there
        // would show the new backing file.
        var oldBackingEnd = image.Backing?.Length ?? 0;
        var current = new byte[step];
        var replacement = new byte[step];
        for (long chunk = 0; chunk < length; chunk += ChunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunkLength = Math.Min(ChunkSize, length - chunk);
            foreach (var extent in image.GetExtents(chunk, chunkLength))
            {
                if (extent.Kind != ExtentKind.Unallocated)
                {
                    continue;
                }

                for (var offset = extent.Offset; offset < extent.Offset + extent.Length;)
                {
                    // Compare in cluster-aligned pieces so a write covers whole clusters where it can.
                    var pieceEnd = Math.Min(extent.Offset + extent.Length, ((offset / step) + 1) * step);
                    if (offset < oldBackingEnd && pieceEnd > oldBackingEnd)
                    {
                        pieceEnd = oldBackingEnd;
                    }

                    var size = (int)(pieceEnd - offset);
                    var old = current.AsSpan(0, size);
                    var next = replacement.AsSpan(0, size);
                    image.Read(offset, old);
                    ReadOrZero(newBacking, offset, next);
                    if (!old.SequenceEqual(next))
                    {
                        if (offset >= oldBackingEnd && zeroClusters && offset % clusterSize == 0 && size % clusterSize == 0)
                        {
                            image.WriteZeroes(offset, size, mayUnmap: false);
                        }
                        else
                        {
                            image.Write(offset, old);
                        }
                    }

                    offset = pieceEnd;
                }
            }

            progress?.Report(new OperationProgress(chunk + chunkLength, length));
        }

        image.Flush();
    }

    /// <summary>The new backing file, and every file of its chain that can be opened, must not be the image (by device and inode).</summary>
    private static void RefuseLoop(ImageFormatRegistry registry, RebaseOptions options, string newName)
    {
        var resolved = Qcow2Image.ResolveBackingPath(options.Path, newName);
        var files = new List<string> { resolved };
        try
        {
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
