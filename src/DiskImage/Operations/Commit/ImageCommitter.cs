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
    /// Commits; <paramref name="progress"/> receives the fraction done (0 to 1). A base that is the same file as a
    /// layer above it is refused. Cancellation stops the copy between chunks, before the image is emptied: the
    /// image still reads as before, and the base holds some of its data.
    /// </summary>
    public static void Commit(CommitOptions options, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var registry = ImageFormatRegistry.Default;
        string basePath, baseFormat;
        using (var top = registry.Open(options.Path, options.Format, Unlocking(options)))
        {
            if (top.Backing is null)
            {
                throw new InvalidOptionException("Image does not have a backing file");
            }

            var layers = new List<IDiskImage> { top };
            var baseImage = top.Backing;
            if (options.Base is not null)
            {
                var wanted = new HashSet<string>(StringComparer.Ordinal)
                {
                    Path.GetFullPath(options.Base),
                    Path.GetFullPath(Qcow2Image.ResolveBackingPath(options.Path, options.Base)),
                };
                while (baseImage is not null && !wanted.Contains(Path.GetFullPath(baseImage.FilePath)))
                {
                    layers.Add(baseImage);
                    baseImage = baseImage.Backing;
                }

                if (baseImage is null)
                {
                    throw new InvalidOptionException($"Did not find '{options.Base}' in the backing chain of '{options.Path}'");
                }
            }

            basePath = baseImage.FilePath;
            baseFormat = baseImage.Format.Name;
            InputOverlap.EnsureDistinct(basePath, layers.Select(l => l.FilePath));
            cancellationToken.ThrowIfCancellationRequested();
            if (baseImage.Length < top.Length)
            {
                ImageResizer.Resize(new ResizeOptions { Path = basePath, Format = baseFormat, Size = top.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), SecretProvider = options.SecretProvider, KeySecret = options.KeySecret });
            }

            using var target = registry.Open(basePath, baseFormat, Unlocking(options) with { ReadOnly = false });
            CopyAllocated(top, layers, target, progress, cancellationToken);
            target.Flush();
        }

        cancellationToken.ThrowIfCancellationRequested();

        if (options.Base is null && !options.KeepOverlay)
        {
            using var emptied = registry.Open(options.Path, options.Format, Unlocking(options) with { ReadOnly = false, OpenBackingChain = false });
            if (emptied is Qcow2Image qcow2)
            {
                qcow2.MakeEmpty();
            }
        }

        progress?.Report(1);
    }

    private static ImageOpenOptions Unlocking(CommitOptions options) => new() { SecretProvider = options.SecretProvider, KeySecret = options.KeySecret };

    /// <summary>Copies, as the top image reads it, every range some layer above the base allocates.</summary>
    private static void CopyAllocated(IDiskImage top, List<IDiskImage> layers, IDiskImage target, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var length = top.Length;
        var buffer = new byte[ChunkSize];
        for (long chunk = 0; chunk < length; chunk += ChunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunkLength = Math.Min(ChunkSize, length - chunk);
            var ranges = new List<(long Start, long End)>();
            foreach (var layer in layers)
            {
                var visible = Math.Min(chunkLength, layer.Length - chunk);
                if (visible <= 0)
                {
                    continue;
                }

                foreach (var extent in layer.GetExtents(chunk, visible))
                {
                    if (extent.Kind != ExtentKind.Unallocated)
                    {
                        ranges.Add((extent.Offset, extent.Offset + extent.Length));
                    }
                }
            }

            ranges.Sort();
            long copiedTo = chunk;
            foreach (var (start, end) in ranges)
            {
                var from = Math.Max(start, copiedTo);
                if (from >= end)
                {
                    continue;
                }

                var span = buffer.AsSpan(0, (int)(end - from));
                top.Read(from, span);
                target.Write(from, span);
                copiedTo = end;
            }

            progress?.Report((double)(chunk + chunkLength) / length);
        }
    }
}
