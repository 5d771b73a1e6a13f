using DiskImage.Formats;
using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Operations.Create;

/// <summary>
/// <c>qemu-img create</c>. <see cref="Prepare"/> checks everything (options, backing file) without
/// writing; <see cref="Execute"/> then writes the image. qemu-img reports the options between the two.
/// </summary>
public static class ImageCreator
{
    /// <summary>
    /// The <c>-o</c> options completed or overridden by <c>-b</c>/<c>-F</c> where <c>-o</c> names a backing file or
    /// format (<c>-o backing_file=B -F FMT</c>), as qemu-img sets both into one option list. Otherwise the options stay
    /// as given and the backing checks below word any problem as qemu-img does.
    /// </summary>
    private static IReadOnlyDictionary<string, string> WithBackingArguments(CreateRequest request)
    {
        // qemu-img sets -b and -F over what -o said (an empty -b is refused later, in its own words).
        var options = request.Options;
        var hasFile = options.ContainsKey("backing_file");
        var hasFormat = options.ContainsKey("backing_fmt");
        if (request.BackingFile is { Length: > 0 } && (hasFile || hasFormat) && options.GetValueOrDefault("backing_file") != request.BackingFile)
        {
            options = new Dictionary<string, string>(options) { ["backing_file"] = request.BackingFile };
        }

        if (request.BackingFormat is not null && (hasFile || hasFormat) && options.GetValueOrDefault("backing_fmt") != request.BackingFormat)
        {
            options = new Dictionary<string, string>(options) { ["backing_fmt"] = request.BackingFormat };
        }

        return options;
    }

    /// <summary>Checks the request as qemu-img does and resolves the size from the backing file when it is omitted.</summary>
    public static CreatePlan Prepare(CreateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var registry = request.Registry ?? ImageFormatRegistry.Default;
        // The plan keeps the name as given (qemu-img's "Formatting" line shows it); backing names resolve against the file.
        var file = FileProtocolPrefix.Strip(request.Path);
        if (!registry.TryGet(request.Format, out var format))
        {
            throw QemuFormatNames.CannotCreate(request.Format)
                ? new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(request.Format))
                : new UnknownFormatException($"Unknown file format '{request.Format}'");
        }

        if (!format.CanCreate)
        {
            throw new UnsupportedFeatureException($"Format driver '{format.Name}' does not support image creation");
        }

        if (IO.ProtocolName.CreationRefusal(file) is { } protocolRefusal)
        {
            throw new UnsupportedFeatureException(protocolRefusal);
        }

        RefuseFileProtocolKeysOverSsh(file, format, request.Options);

        // What the format driver refuses comes after qemu-img's "Formatting" line, so the backing checks still run
        // and the plan carries the refusal to Execute.
        ImageCreateOptions options;
        DriverOptionException? refusedByDriver = null;
        try
        {
            options = format.ParseCreateOptions(request.Size, WithBackingArguments(request));
        }
        catch (DriverOptionException e)
        {
            refusedByDriver = e;
            options = new ImageCreateOptions
            {
                Size = request.Size ?? (request.Options.TryGetValue("size", out var sizeText) ? SizeText.ParseOption("size", sizeText) : null),
                BackingFile = request.Options.GetValueOrDefault("backing_file"),
                BackingFormat = request.Options.GetValueOrDefault("backing_fmt"),
            };
        }

        options = options with
        {
            BackingFile = request.BackingFile ?? options.BackingFile,
            BackingFormat = request.BackingFormat ?? options.BackingFormat,
            SkipBackingCheck = request.SkipBackingCheck,
            Registry = registry,
            SecretProvider = request.SecretProvider,
        };

        if (options.BackingFile is "")
        {
            throw new InvalidOptionException("Expected backing file name, got empty string");
        }

        if (options.BackingFile is not null)
        {
            if (format is Formats.Raw.RawFormat || !format.SupportsBackingFiles)
            {
                throw new InvalidOptionException($"Backing file not supported for file format '{format.Name}'");
            }

            if (options.BackingFormat is null)
            {
                throw new InvalidOptionException("Backing file specified without backing format" + DetectedFormatHint(request, options.BackingFile, registry));
            }

            if (!registry.TryGet(options.BackingFormat, out _))
            {
                // Checking the backing file, qemu-img fails to open it; with -u the image is formatted first and its
                // format driver refuses the name (in its own words), so the refusal travels with the plan.
                if (request.SkipBackingCheck && options.Size is null)
                {
                    throw new InvalidOptionException("Image creation needs a size parameter");
                }

                if (request.SkipBackingCheck && (refusedByDriver ?? UnknownBackingFormatRefusal(format, options.BackingFormat)) is { } refusal)
                {
                    return new CreatePlan(request.Path, format, options) { RefusedByDriver = refusal };
                }

                throw new UnknownFormatException($"Unknown driver '{options.BackingFormat}'"
                    + (request.SkipBackingCheck ? "" : "\nCould not open backing image."));
            }

            RefuseSelfBacking(file, ResolveBacking(file, options.BackingFile), options.BackingFormat, registry, request.SkipBackingCheck);
            if (!request.SkipBackingCheck)
            {
                var backingPath = ResolveBacking(file, options.BackingFile);
                IDiskImage backing;
                try
                {
                    backing = registry.Open(backingPath, options.BackingFormat, new ImageOpenOptions { OpenBackingChain = false, MetadataOnly = true, ForceShare = true, Registry = registry });
                }
                catch (DiskImageException e)
                {
                    // qemu-img's own "Could not open" lead (which an image open elsewhere adds) is not part of this
                    // message: the backing file is named only by the layer that failed to open it, then a hint line.
                    var prefix = $"Could not open '{backingPath}': ";
                    var message = e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message;
                    throw new ImageAccessException($"{message}\nCould not open backing image.", e);
                }

                using (backing)
                {
                    options = options with { Size = options.Size ?? backing.Length };
                }
            }
        }

        if (options.Size is null)
        {
            throw new InvalidOptionException("Image creation needs a size parameter");
        }

        return new CreatePlan(request.Path, format, options) { RefusedByDriver = refusedByDriver };
    }

    /// <summary>
    /// Writes the image. A fully preallocated image (which takes long to write) is built under a temporary name and
    /// renamed into place when whole, so an interruption or a full disk leaves no file under its name.
    /// </summary>
    public static void Execute(CreatePlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        cancellationToken.ThrowIfCancellationRequested();
        if (plan.RefusedByDriver is { } refused)
        {
            throw refused;
        }

        try
        {
            // A protocol other than file creates nothing to stage: it refuses, or writes on the device, export or SSH
            // server's file in place.
            var hostPath = !Nbd.Client.NbdUri.IsNbd(plan.Path) && !Options.SshNode.IsSshUri(plan.Path) && !IO.Nfs.NfsUrl.IsNfs(plan.Path) && !IO.Iscsi.IscsiNode.IsIscsi(plan.Path);
            if (!hostPath || plan.Format is Formats.Raw.ProtocolFormat { Name: not "file" }
                || plan.Options is not (Formats.Qcow2.Qcow2CreateOptions { Preallocation: Preallocation.Full } or Formats.Raw.RawCreateOptions { Preallocation: Preallocation.Full }))
            {
                plan.Format.Create(FileProtocolPrefix.Strip(plan.Path), plan.Options);
                return;
            }

            using var output = PartialOutput.Begin(FileProtocolPrefix.Strip(plan.Path));
            plan.Format.Create(output.WritePath, plan.Options);
            cancellationToken.ThrowIfCancellationRequested();
            output.Commit(flushToDisk: true);
        }
        catch (FileTooLargeException e)
        {
            // qemu-img's words for EFBIG, with its hint for formats that have a cluster size.
            var hint = plan.Options is Formats.Qcow2.Qcow2CreateOptions ? " (try using a larger cluster size)" : "";
            throw new FileTooLargeException($"The image size is too large for file format '{plan.Format.Name}'{hint}", e);
        }
    }

    /// <summary>
    /// What a format driver says, after the "Formatting" line, of a backing format no driver has (only with -u: the
    /// backing check refuses it earlier otherwise), where its option parser has not said it already; null where that
    /// refusal is not known.
    /// </summary>
    private static DriverOptionException? UnknownBackingFormatRefusal(IImageFormat format, string backingFormat) => format switch
    {
        // qcow stores no backing format, but checks that the name is a format.
        Formats.Qcow.QcowFormat => new DriverOptionException($"unrecognized backing format '{backingFormat}'"),
        Formats.Qcow2.Qcow2Format or Formats.Qed.QedFormat => new DriverOptionException($"Parameter 'backing-fmt' does not accept value '{backingFormat}'"),
        _ => null,
    };

    /// <summary>
    /// qemu-img opens the backing file before refusing a missing backing format, and says what it found (or why it
    /// could not open it) on a hint line.
    /// </summary>
    private static string DetectedFormatHint(CreateRequest request, string backingFile, ImageFormatRegistry registry)
    {
        if (request.SkipBackingCheck)
        {
            return "";
        }

        var path = ResolveBacking(FileProtocolPrefix.Strip(request.Path), backingFile);
        try
        {
            return $"\nDetected format of {registry.Probe(path).Name}.";
        }
        catch (DiskImageException e)
        {
            throw new ImageAccessException($"{e.Message}\nCould not open backing image.", e);
        }
    }

    /// <summary>
    /// The new image must not be its own backing file, nor any file of that backing file's chain (compared by
    /// device and inode). In qemu-img's words, which it uses for the same name.
    /// </summary>
    private static void RefuseSelfBacking(string path, string backingPath, string? backingFormat, ImageFormatRegistry registry, bool skipBackingCheck)
    {
        var files = new List<string> { backingPath };
        if (!skipBackingCheck)
        {
            try
            {
                // An open QEMU does not make: what it would warn of (dmg's module notices) is said once, by the size lookup.
                using var quiet = ImageWarnings.Listen(_ => { });
                using var backing = registry.Open(backingPath, backingFormat, new ImageOpenOptions { MetadataOnly = true, Registry = registry });
                files.AddRange(InputOverlap.ChainFiles(backing));
            }
            catch (DiskImageException)
            {
                // Reported by the size lookup that follows; the direct comparison still stands.
            }
        }

        if (InputOverlap.FindOverlap(path, files) is not null || Path.GetFullPath(path) == Path.GetFullPath(backingPath))
        {
            throw new SameFileException("Error: Trying to create an image with the same filename as the backing file");
        }
    }

    /// <summary>
    /// qemu-img takes the create options of the format and of the protocol under it: the file protocol's
    /// <c>nocow</c> and <c>extent_size_hint</c>, and the <c>preallocation</c> that raw and luks leave to it, are no
    /// options of the ssh protocol, which has only a size. Refused before the "Formatting" line, as there.
    /// </summary>
    internal static void RefuseFileProtocolKeysOverSsh(string path, IImageFormat format, IReadOnlyDictionary<string, string> options)
    {
        // The nfs protocol has only a size too.
        if (!SshNode.IsSshUri(path) && !IO.Nfs.NfsUrl.IsNfs(path))
        {
            return;
        }

        var takenFromProtocol = format is Formats.Raw.RawFormat or Formats.Luks.LuksFormat;
        foreach (var key in options.Keys)
        {
            if (key is "nocow" or "extent_size_hint" || (key == "preallocation" && takenFromProtocol))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }
        }
    }

    /// <summary>A backing path as QEMU resolves it: relative to the directory of the image that names it.</summary>
    public static string ResolveBacking(string imagePath, string backingFile)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        ArgumentNullException.ThrowIfNull(backingFile);
        if (Formats.Qcow2.Qcow2Image.IsAbsoluteName(backingFile))
        {
            return backingFile; // absolute, or a name with a protocol prefix, which QEMU never resolves against the image's directory
        }

        if (SshNode.IsSshUri(imagePath) || IO.Nfs.NfsUrl.IsNfs(imagePath))
        {
            return IO.Curl.CurlUrl.Sibling(imagePath, backingFile); // beside the new image on its server, by the name as given
        }

        var directory = Path.GetDirectoryName(imagePath);
        return string.IsNullOrEmpty(directory) ? backingFile : Path.Combine(directory, backingFile);
    }
}
