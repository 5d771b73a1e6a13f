using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations.Measure;

/// <summary>
/// <c>qemu-img measure</c>: how large a new image would be, for an empty image of a given size or for
/// a copy of an existing image. Figures match qemu-img's for raw and qcow2 targets.
/// </summary>
public static class ImageMeasurer
{
    private const int SectorSize = 512;
    private const int MaxL1Bytes = 32 << 20;

    /// <summary>Measures; throws <see cref="InvalidOptionException"/> for bad options and the open errors of the source. Read-only.</summary>
    /// <param name="options">The target format and options, and the source image or size.</param>
    /// <param name="progress">Counts guest bytes of the source whose allocation has been walked (a measurement by size alone reports only its end).</param>
    /// <param name="registry">The formats to open the source with; <see cref="ImageFormatRegistry.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops the walk of the source.</param>
    public static MeasureResult Measure(MeasureOptions options, IProgress<OperationProgress>? progress = null, ImageFormatRegistry? registry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        registry ??= ImageFormatRegistry.Default;

        // qemu-img's order: a missing filename for -f/-l first, then the size and filename conflicts.
        if ((options.SnapshotName is not null || options.SourceFormat is not null) && options.SourcePath is null)
        {
            throw new InvalidOptionException("--image-opts, -f, and -l require a filename argument.");
        }

        if (options.Size is not null && options.SourcePath is not null)
        {
            throw new InvalidOptionException("--size N cannot be used together with a filename.");
        }

        if (options.Size is null && options.SourcePath is null)
        {
            throw new InvalidOptionException("Either --size N or one filename must be specified.");
        }

        if (options.Size < 0)
        {
            throw new InvalidOptionException("Image size must be non-negative");
        }

        var createOptions = new Dictionary<string, string>(options.CreateOptions, StringComparer.Ordinal);
        if (options.Size is { } size)
        {
            createOptions["size"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        using var source = options.SourcePath is null ? null : OpenSource(options, registry);
        try
        {
            // The arithmetic is the target format's, whether or not a driver for it is registered.
            var result = checked(options.OutputFormat switch
            {
                "raw" => MeasureRaw(createOptions, source),
                "qcow2" => MeasureQcow2(createOptions, source, options.SecretProvider, progress, cancellationToken),
                "luks" => MeasureLuks(createOptions, source, options.SecretProvider),
                _ => throw NotMeasurable(registry, options.OutputFormat),
            });
            var walked = source?.Length ?? 0;
            progress?.Report(new OperationProgress(walked, walked));
            return result;
        }
        catch (OverflowException)
        {
            throw new InvalidOptionException("The image size is too large");
        }
        catch (IOException e) when (e.HResult == ErrnoException.EIO)
        {
            // The source's block status failed (a corrupt L2 entry): qemu-img's qcow2 measure says so.
            throw new ImageAccessException($"Unable to get block status: {e.Message}", e);
        }
    }

    /// <summary>A target format measure has no arithmetic for: qemu-img's words for an unknown one and a known one.</summary>
    private static DiskImageException NotMeasurable(ImageFormatRegistry registry, string name) =>
        QemuFormatNames.CannotCreate(name) ? new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(name))
        : registry.TryGet(name, out var format)
            ? new UnsupportedFeatureException($"Block driver '{format.Name}' does not support size measurement")
            : new UnknownFormatException($"Unknown file format '{name}'");

    private static IDiskImage OpenSource(MeasureOptions options, ImageFormatRegistry registry)
    {
        if (options.SnapshotName is not null)
        {
            return Snapshots.ImageSnapshots.OpenSnapshot(options.SourcePath!, options.SourceFormat,
                Formats.Qcow2.Qcow2SnapshotSelector.Parse(options.SnapshotName), Unlocking(options, registry));
        }

        return registry.Open(options.SourcePath!, options.SourceFormat, Unlocking(options, registry));
    }

    private static ImageOpenOptions Unlocking(MeasureOptions options, ImageFormatRegistry registry) =>
        new() { Registry = registry, SecretProvider = options.SecretProvider, KeySecret = options.SourceKeySecret, ForceShare = options.ForceShare };

    private static MeasureResult MeasureRaw(Dictionary<string, string> createOptions, IDiskImage? source)
    {
        foreach (var key in createOptions.Keys)
        {
            if (key is not ("size" or "preallocation" or "nocow" or "extent_size_hint"))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }
        }

        // A raw file holds every byte of the disk, so sparseness does not lower the requirement.
        var required = source is not null
            ? GuestLength(source)
            : Qcow2Layout.RoundUp(createOptions.TryGetValue("size", out var text) ? Options.SizeText.Parse(text, "image size") : 0, SectorSize);
        return new MeasureResult(required, required, null);
    }

    /// <summary>
    /// A LUKS image takes its header and key slots plus every guest byte, since even unwritten sectors hold ciphertext.
    /// As qemu-img, which formats a throwaway header to measure it, the key secret must be named and exist.
    /// </summary>
    private static MeasureResult MeasureLuks(Dictionary<string, string> createOptions, IDiskImage? source, Func<string?, byte[]?>? secrets)
    {
        var parsed = (Formats.Luks.LuksImageCreateOptions)Formats.Luks.LuksFormat.Instance.ParseCreateOptions(null,
            createOptions.Where(o => o.Key is not ("nocow" or "extent_size_hint")).ToDictionary(o => o.Key, o => o.Value));
        if (parsed.Encryption.KeySecret is null)
        {
            throw new InvalidOptionException(Formats.Luks.LuksFormat.MissingKeySecretMessage);
        }

        _ = Crypto.EncryptionSecrets.Require(secrets, parsed.Encryption.KeySecret, "key-secret");
        var size = source is not null ? source.Length : parsed.Size ?? 0;
        var required = Crypto.LuksVolume.AreaLength(parsed.Encryption.Cipher) + size;
        return new MeasureResult(required, required, null);
    }

    private static MeasureResult MeasureQcow2(Dictionary<string, string> createOptions, IDiskImage? source, Func<string?, byte[]?>? secrets, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        var parameters = Qcow2MeasureParameters.Parse(createOptions);
        var clusterSize = parameters.ClusterSize;
        var virtualSize = Qcow2Layout.RoundUp(parameters.Size, clusterSize);
        if (Qcow2Layout.L2TableCount(virtualSize, clusterSize, parameters.ExtendedL2) * 8 > MaxL1Bytes)
        {
            throw new InvalidOptionException("The image size is too large (try using a larger cluster size)");
        }

        long required = 0;
        if (source is not null)
        {
            virtualSize = Qcow2Layout.RoundUp(GuestLength(source), clusterSize);

            // With a backing file nobody knows what the new image shares with it: count every cluster.
            required = parameters.HasBackingFile ? virtualSize : AllocatedClusterBytes(source, clusterSize, progress, cancellationToken);
        }

        if (parameters.Preallocation is Preallocation.Full or Preallocation.Falloc)
        {
            required = virtualSize;
        }

        var luksBytes = 0L;
        if (parameters.Luks)
        {
            // qemu-img formats a throwaway LUKS header to measure it, so the secret must exist.
            _ = Crypto.EncryptionSecrets.Require(secrets, createOptions.GetValueOrDefault("encrypt.key-secret"));

            createOptions.TryGetValue("encrypt.cipher-alg", out var algorithm);
            createOptions.TryGetValue("encrypt.cipher-mode", out var mode);
            luksBytes = Qcow2Layout.RoundUp(LuksHeaderSize.PayloadOffset(algorithm, mode), clusterSize);
        }

        var fullyAllocated = luksBytes + Qcow2Layout.FullyAllocatedSize(virtualSize, clusterSize, parameters.RefcountOrder, parameters.ExtendedL2);

        // Metadata of the fully allocated image is kept: an overestimate, as qemu-img's.
        var result = fullyAllocated - virtualSize + required;
        // Bitmaps count only when both the new image and the source can hold them (qcow2 version 3).
        long? bitmaps = parameters.Version >= 3 && source is Formats.Qcow2.Qcow2Image { SupportsZeroClusters: true } qcow2
            ? qcow2.PersistentBitmapsSize(clusterSize)
            : null;
        return new MeasureResult(result, fullyAllocated, bitmaps);
    }

    /// <summary>The source's size as QEMU sees it: whole 512-byte sectors (a 1000-byte raw file counts as 1024).</summary>
    private static long GuestLength(IDiskImage source) => Qcow2Layout.RoundUp(source.Length, SectorSize);

    /// <summary>Bytes of the whole clusters that hold data anywhere in the source's backing chain.</summary>
    private static long AllocatedClusterBytes(IDiskImage source, int clusterSize, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        long total = 0;
        long counted = 0;
        foreach (var extent in ChainExtents.Resolve(source, 0, source.Length))
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new OperationProgress(extent.End, source.Length));
            if (extent.End <= counted || extent.Kind != ExtentKind.Data)
            {
                continue;
            }

            var start = Math.Max(extent.Offset, counted);
            var end = Qcow2Layout.RoundUp(extent.End, clusterSize);
            total += end - (start - (start % clusterSize));
            counted = end;
        }

        return total;
    }
}
