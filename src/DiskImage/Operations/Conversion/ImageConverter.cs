using DiskImage.Formats;
using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// <c>qemu-img convert</c>: copies one or more source images (concatenated, backing chains flattened)
/// into a new or existing target of any writable format, skipping what reads as zero.
/// </summary>
public static class ImageConverter
{
    /// <summary>Chunks are this large, or one target cluster when that is larger.</summary>
    private const int ChunkSize = 2 << 20;

    /// <summary>The <c>-o</c> key that picks which disk of an OVA source is read.</summary>
    private const string OvaDiskKey = "disk";

    /// <summary>
    /// Runs the conversion on the calling thread (which writes; worker threads read), blocking until it has finished.
    /// Options are checked, every source opened and the target compared with every file of every source's chain
    /// before the target is touched. A new target is whole or absent: it is written under a temporary name and
    /// renamed into place at the end, and removed on failure or cancellation.
    /// </summary>
    /// <param name="options">What to convert into what.</param>
    /// <param name="progress">
    /// Receives bytes of source data (allocated, non-zero runs) copied of all the data to copy, which is what
    /// qemu-img's <c>-p</c> measures: runs that read as zero take no time in the figure.
    /// </param>
    /// <param name="cancellationToken">Stops the copy; a new target is then removed, an existing one (<c>-n</c>) is left marked as interrupted.</param>
    public static void Convert(ConvertOptions options, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var registry = options.Registry ?? ImageFormatRegistry.Default;
        // As qemu-img, the sources are opened before the target's format is judged: a source that cannot be opened
        // (an unknown -f included) is the error reported, whatever the target's format.
        var sources = OpenSources(registry, options);
        try
        {
            if (!options.NoCreate && QemuFormatNames.CannotCreate(options.TargetFormat))
            {
                // A driver qemu-img has but that cannot create images is refused as qemu-img refuses it.
                throw new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(options.TargetFormat));
            }

            var targetFormat = GetFormat(registry, options.TargetFormat);
            if (options.Compress && !targetFormat.SupportsCompression)
            {
                throw new UnsupportedFeatureException("Compression not supported for this file format");
            }

            if (options.Compress && !options.NoCreate)
            {
                RefuseCompressionWith(options.TargetOptions);
            }

            var layout = new SourceLayout(sources);
            InputOverlap.EnsureDistinct(options.Target, sources);
            BitmapCopy.Check(options, sources, targetFormat.Name);
            cancellationToken.ThrowIfCancellationRequested();

            var targetOptions = options.TargetOptions;
            if (targetOptions.ContainsKey(OvaDiskKey) && sources.Any(s => s is Formats.Ova.OvaImage))
            {
                // -o disk=N picked the OVA's disk; it is not an option of the target.
                targetOptions = targetOptions.Where(p => p.Key != OvaDiskKey).ToDictionary(p => p.Key, p => p.Value);
            }

            targetOptions = OverlayTarget.Options(targetFormat, layout.TotalLength, targetOptions, options);
            var bitmap = OverlayTarget.FindBitmap(sources, options);

            // A new target is built under a temporary name and renamed into place when whole; -n writes in place, and
            // so does a new image on an NBD export or iSCSI LUN, which exists already and cannot be renamed, and one on an
            // NFS export. One on an SSH or NFS server is staged on that server (renamed there when whole).
            var targetOnSsh = DiskImage.Options.SshNode.IsSshUri(options.Target);
            var targetOnNbd = Nbd.Client.NbdUri.IsNbd(options.Target) || targetOnSsh || IO.Nfs.NfsUrl.IsNfs(options.Target) || IO.Iscsi.IscsiNode.IsIscsi(options.Target);
            if (!options.NoCreate && IO.ProtocolName.CreationRefusal(options.Target) is { } refusal)
            {
                throw new UnsupportedFeatureException(refusal);
            }

            // A driver the library lacks refuses the target by its given name, so it is not staged under another.
            var namedElsewhere = targetFormat is Formats.Foreign.ForeignDriverFormat or Formats.Filters.FilterDriverFormat || targetFormat is Formats.Raw.ProtocolFormat { Name: not "file" };
            using var output = options.NoCreate || targetOnNbd || namedElsewhere ? null : BeginOutput(options.Target, targetFormat.Name);
            using var sshOutput = !options.NoCreate && targetOnSsh && !namedElsewhere ? IO.Ssh.SshStagedOutput.Begin(options.Target) : null;
            using var nfsOutput = !options.NoCreate && IO.Nfs.NfsUrl.IsNfs(options.Target) && !namedElsewhere ? IO.Nfs.NfsStagedOutput.Begin(options.Target) : null;
            var targetPath = output?.WritePath ?? options.Target;
            ImageCreateOptions? createOptions = null;
            if (!options.NoCreate)
            {
                var withSourceSize = SourceSizeOverGiven(targetFormat, targetOptions, layout.TotalLength);
                try
                {
                    Create.ImageCreator.RefuseFileProtocolKeysOverSsh(options.Target, targetFormat, targetOptions);
                    createOptions = targetFormat.ParseCreateOptions(withSourceSize is null ? layout.TotalLength : null, withSourceSize ?? targetOptions) with { Registry = registry, SecretProvider = options.SecretProvider };
                    if (createOptions is Formats.Vmdk.VmdkCreateOptions vmdkOptions && output is { InPlace: false })
                    {
                        // The descriptor names itself and its extents after the name it will have, not the temporary one.
                        createOptions = vmdkOptions with { NamedAs = output.TargetPath };
                    }

                    targetFormat.Create(targetPath, createOptions);
                }
                catch (DiskImageException e) when (e is ImageAccessException or InvalidImageException || (e is InvalidOptionException && !IsOptionSyntaxError(e.Message))
                                                   || (e is UnsupportedFeatureException && targetOnSsh))
                {
                    // qemu-img's words for a target it cannot create or lock (or, on a device, cannot read back), and
                    // for what the ssh driver refuses while the format's creator writes (a descriptor file cut short).
                    e.PrependContext($"{options.Target}: error while converting {targetFormat.Name}: ");
                    throw;
                }
            }

            try
            {
                Copy(registry, targetFormat, targetPath, sources, layout, options, bitmap, progress, cancellationToken);
            }
            catch when (output is { InPlace: false } && createOptions is Formats.Vmdk.VmdkCreateOptions created)
            {
                // The temporary descriptor goes with the output; the extent files made beside it go too.
                foreach (var extent in Formats.Vmdk.VmdkCreator.SeparateExtentPaths(targetPath, created))
                {
                    FailedCreate.Remove(extent);
                }

                throw;
            }

            output?.Commit(flushToDisk: options.TargetCache != "unsafe");
            sshOutput?.Commit();
            nfsOutput?.Commit();
        }
        finally
        {
            foreach (var source in sources)
            {
                source.Dispose();
            }
        }
    }

    /// <summary>
    /// qemu-img reads a <c>size</c> among the <c>-o</c> keys as a size (its syntax and range refused in its words, in the
    /// order the keys come) and then sets the sources' total length over it, so the given value never counts. Returns
    /// the options with that total in its place, or null when no size was given.
    /// </summary>
    private static Dictionary<string, string>? SourceSizeOverGiven(IImageFormat format, IReadOnlyDictionary<string, string> options, long total)
    {
        if (!options.TryGetValue("size", out var given))
        {
            return null;
        }

        if (!SizeText.TryParse(given, out _) && !SizeText.TryParseUnsigned(given, out _))
        {
            try
            {
                // A key before it that the option reader refuses is reported first.
                format.ParseCreateOptions(total, options.TakeWhile(p => p.Key != "size").ToDictionary(p => p.Key, p => p.Value));
            }
            catch (DiskImageException e) when (IsOptionSyntaxError(e.Message))
            {
                throw;
            }
            catch (DiskImageException)
            {
                // Checks made after the options are read; the size's refusal comes first.
            }

            throw new InvalidOptionException(SizeText.IsWellFormed(given)
                ? $"Value '{given}' is out of range for parameter 'size'"
                : "Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.");
        }

        var sizeText = total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return options.ToDictionary(p => p.Key, p => p.Key == "size" ? sizeText : p.Value);
    }

    /// <summary>
    /// qemu-img's refusals of <c>-c</c> with creation options that cannot go with it: an encrypted target (any
    /// <c>encryption</c> value that reads as on, or any <c>encrypt.format</c>) and preallocation other than off.
    /// </summary>
    private static void RefuseCompressionWith(IReadOnlyDictionary<string, string> targetOptions)
    {
        var encrypted = targetOptions.TryGetValue("encryption", out var encryption) && encryption is "on" or "yes" or "true" or "y";
        if (encrypted || targetOptions.ContainsKey("encrypt.format"))
        {
            throw new UnsupportedFeatureException("Compression and encryption not supported at the same time");
        }

        if (targetOptions.TryGetValue("preallocation", out var preallocation) && preallocation != "off")
        {
            throw new UnsupportedFeatureException("Compression and preallocation not supported at the same time");
        }
    }

    /// <summary>
    /// Runs the conversion as <see cref="Convert"/> does, on a thread of its own: the copy is blocking I/O from start to
    /// end, so it neither holds a thread-pool thread nor returns to the caller's context until it has finished.
    /// </summary>
    /// <param name="options">What to convert into what.</param>
    /// <param name="progress">Receives bytes of source data copied of the data to copy, as qemu-img measures it.</param>
    /// <param name="cancellationToken">Stops the copy; a new target is then removed.</param>
    public static Task ConvertAsync(ConvertOptions options, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Convert(options, progress, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Opens the created (or existing) target and runs the copy pipeline into it, ending with a flush.</summary>
    private static void Copy(ImageFormatRegistry registry, IImageFormat targetFormat, string targetPath, List<IDiskImage> sources, SourceLayout layout, ConvertOptions options,
        Formats.Qcow2.Bitmaps.Qcow2DirtyBitmap? bitmap, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        using var target = OpenTarget(registry, targetFormat, targetPath, options);
        if (target.Length < layout.TotalLength)
        {
            throw new InvalidOptionException("output file is smaller than input file");
        }

        BitmapCopy.CheckTarget(options, target);

        ICompressedClusterWriter? compressor = null;
        if (options.Compress && target is Formats.Vmdk.VmdkImage { HasNoClusterSize: true })
        {
            // qemu-img's compressed copy goes cluster by cluster, and a flat VMDK has no cluster.
            throw new InvalidOptionException("invalid cluster size");
        }

        if (options.Compress)
        {
            compressor = target as ICompressedClusterWriter ?? throw new UnsupportedFeatureException("Compression not supported for this file format");
        }
        else if (target is Formats.Vmdk.VmdkImage { RequiresCompressedWrites: true } streamOptimized)
        {
            // As qemu-img: a target that takes only compressed writes (streamOptimized VMDK) is written compressed.
            compressor = streamOptimized;
        }

        // -n writes into an existing image in place: mark it (qcow2's dirty bit) so that an interrupted copy shows.
        var marker = options.NoCreate ? target as IInPlaceUpdateMarker : null;
        var hasBacking = OverlayTarget.HasBacking(options);
        if (hasBacking)
        {
            // As qemu-img: the backing file's length is known (and zeroes past it skipped) only for a new target.
            layout.Overlay = new OverlaySpans(layout.Sources[0], options.NoCreate ? null : target.Backing?.Length, bitmap, compressor?.ClusterSize ?? 0);
        }

        layout.ZeroesAreData = options.Compress && options.MinSparseSize == 0;
        marker?.BeginInPlaceUpdate();
        // A raw image "created" on a LUN is the LUN's old bytes, not zeroes (QEMU's iscsi driver has no zero init).
        var onLun = IO.Iscsi.IscsiNode.IsIscsi(options.Target) && target.Format.Name is "raw" or "iscsi";
        var copyTarget = new CopyTarget(target, StartsZeroed: ((!options.NoCreate && target is not Formats.Luks.LuksImage && !onLun) || options.TargetIsZero) && !hasBacking, compressor);
        var chunkSize = Math.Max(ChunkSize, copyTarget.ZeroUnit);
        var workers = Math.Clamp(options.Workers, 1, Math.Max(2, Environment.ProcessorCount));
        if (layout.Sources.Any(s => s is Formats.Raw.RawImage { File: Formats.Vvfat.VvfatStorage }))
        {
            // A vvfat disk's bytes past a file's end are what its one cluster buffer held before, so they follow the
            // read order: in disk order, as qemu-img's requests reach it, they are qemu-img's.
            workers = 1;
        }

        if (options.SalvageWarning is not null)
        {
            // Salvaging reads in order on one worker, so its warnings come in source order as qemu-img prints them. As
            // qemu-img, block status is gone through once before the copy (it counts the data to copy), which repeats
            // the block-status warnings; the progress count makes that pass when progress is shown.
            workers = 1;
            layout.StatusWarning = options.SalvageWarning;
            if (progress is null)
            {
                foreach (var _ in layout.Walk(cancellationToken))
                {
                }
            }
        }

        var pipeline = new CopyPipeline(
            layout,
            new ChunkProcessor(layout, copyTarget, options),
            new ChunkWriter(layout, copyTarget),
            chunkSize,
            workers,
            WriteMode(options, copyTarget),
            options.RateLimit)
        {
            ProgressCell = options.Compress ? compressor!.ClusterSize : 0,
        };
        pipeline.Run(progress is null ? null : new DataProgress(progress), cancellationToken);
        if (options.Compress && target is Formats.Qcow2.Qcow2Image compressedQcow2)
        {
            compressedQcow2.AlignFileEndToSector();
        }

        target.Flush();
        marker?.EndInPlaceUpdate();
        BitmapCopy.Copy(options, sources, target, cancellationToken);
    }

    /// <summary>
    /// Who writes each chunk. The worker that read a chunk writes it whenever it can: the data is then written from the
    /// core whose cache holds it, and no chunk is handed to a third thread on a machine with two cores.
    /// A new raw target takes the chunks in any order (as with <c>-W</c>): a raw file's layout is the guest's, and a
    /// copy that fails or is interrupted removes the target. Other targets keep target order, so host clusters follow
    /// guest order and an interrupted <c>-n</c> copy leaves a prefix, as qemu-img's does. Compression and a rate limit
    /// keep the writes on the calling thread.
    /// </summary>
    private static CopyWriteMode WriteMode(ConvertOptions options, CopyTarget target)
    {
        if (options.OutOfOrderWrites)
        {
            return CopyWriteMode.WorkersAnyOrder;
        }

        if (target.Compressor is not null || options.RateLimit != 0)
        {
            return CopyWriteMode.CallingThread;
        }

        return !options.NoCreate && target.RawFile is not null ? CopyWriteMode.WorkersAnyOrder : CopyWriteMode.WorkersInOrder;
    }

    /// <summary>
    /// qemu-img reads <c>-o</c> before creating, so an unknown key or a value of the wrong type is reported plainly;
    /// everything the format's creation refuses is reported after the target's name.
    /// </summary>
    private static bool IsOptionSyntaxError(string message) =>
        message.StartsWith("Invalid parameter '", StringComparison.Ordinal)
        || (message.StartsWith("Parameter '", StringComparison.Ordinal) && message.Contains("' expects ", StringComparison.Ordinal));

    /// <summary>Opens the target for writing; a failure names the target as the caller did, not its temporary name.</summary>
    private static IDiskImage OpenTarget(ImageFormatRegistry registry, IImageFormat targetFormat, string targetPath, ConvertOptions options)
    {
        // A new target is written under its temporary name, never the user's path (-n, or an NBD export, write in place).
        var newOutput = targetPath != options.Target;
        try
        {
            return registry.Open(targetPath, targetFormat.Name, new ImageOpenOptions
            {
                ReadOnly = false,
                IgnoreFlushes = options.TargetCache == "unsafe",
                DirectIo = Io.QemuIoOpenModes.IsDirect(options.TargetCache),
                NewOutputFile = newOutput,
                Registry = registry,
                SecretProvider = options.SecretProvider,
                KeySecret = options.TargetKeySecret ?? options.TargetOptions.GetValueOrDefault("encrypt.key-secret")
                    ?? (targetFormat is Formats.Luks.LuksFormat ? options.TargetOptions.GetValueOrDefault("key-secret") : null),
            });
        }
        catch (DiskImageException e) when (targetPath != options.Target && e.Context is { } context)
        {
            e.ReplaceContext(context.Replace($"'{targetPath}'", $"'{options.Target}'", StringComparison.Ordinal));
            throw;
        }
    }

    /// <summary>The option checks qemu-img makes before opening anything, in its words.</summary>
    private static void Validate(ConvertOptions options)
    {
        if (options.Sources.Count == 0)
        {
            throw new InvalidOptionException("Must specify image file name");
        }

        if (options.TargetIsZero && !options.NoCreate)
        {
            throw new InvalidOptionException("--target-is-zero requires use of -n flag");
        }

        if (options.MinSparseSize < 0 || options.MinSparseSize % 512 != 0 || options.MinSparseSize > ConvertOptions.MaxMinSparseSize)
        {
            throw new InvalidOptionException(
                $"Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to {ConvertOptions.MaxMinSparseSize}. Select 0 to disable sparse detection (fully allocates output).");
        }

        if (options.Workers is < 1 or > ConvertOptions.MaxWorkers)
        {
            throw new InvalidOptionException($"Invalid number of coroutines. Allowed number of coroutines is between 1 and {ConvertOptions.MaxWorkers}");
        }
    }

    private static IImageFormat GetFormat(ImageFormatRegistry registry, string name) =>
        registry.TryGet(name, out var format) ? format : throw new UnknownFormatException($"Unknown file format '{name}'");

    private static List<IDiskImage> OpenSources(ImageFormatRegistry registry, ConvertOptions options)
    {
        var sources = new List<IDiskImage>(options.Sources.Count);
        ImageOpenOptions? firstOpenOptions = null;
        try
        {
            for (var i = 0; i < options.Sources.Count; i++)
            {
                var keySecret = i < options.SourceKeySecrets.Count ? options.SourceKeySecrets[i] : null;
                var openOptions = new ImageOpenOptions
                {
                    Registry = registry,
                    SecretProvider = options.SecretProvider,
                    KeySecret = keySecret,
                    Untrusted = options.UntrustedSources,
                    ForceShare = options.ForceShare,
                    DirectIo = options.SourceDirectIo,

                    // As qemu-img convert: nobody may write or resize a source while it is copied.
                    SharedPermissions = LockPermissions.ConsistentRead | LockPermissions.WriteUnchanged,
                    FormatOptions = options.TargetOptions.TryGetValue(OvaDiskKey, out var disk)
                        ? new Dictionary<string, string> { [OvaDiskKey] = disk }
                        : new Dictionary<string, string>(),
                };
                sources.Add(registry.Open(options.Sources[i], options.SourceFormat, openOptions));
                if (Formats.Raw.RawImage.LacksMedium(sources[^1]))
                {
                    // A CD-ROM drive without a disc has no size for qemu-img's convert to copy.
                    throw new ImageAccessException($"Could not get size of {options.Sources[i]}: No medium found");
                }

                if (i == 0)
                {
                    firstOpenOptions = openOptions;
                }
            }

            if (options.Snapshot is { } snapshot)
            {
                // As qemu-img: the snapshot is loaded once every source is open, and into the first source only.
                sources[0].Dispose();
                sources.RemoveAt(0);
                sources.Insert(0, Snapshots.ImageSnapshots.OpenSnapshot(options.Sources[0], options.SourceFormat, Formats.Qcow2.Qcow2SnapshotSelector.Parse(snapshot), firstOpenOptions!));
            }

            return sources;
        }
        catch
        {
            foreach (var source in sources)
            {
                source.Dispose();
            }

            throw;
        }
    }

    /// <summary>Reserves the new target; a file it replaces that another process holds is refused in qemu-img's words.</summary>
    private static PartialOutput BeginOutput(string target, string formatName)
    {
        try
        {
            return PartialOutput.Begin(target);
        }
        catch (ImageAccessException e)
        {
            e.PrependContext($"{target}: error while converting {formatName}: ");
            throw;
        }
    }
}
