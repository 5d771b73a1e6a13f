using DiskImage.Formats;

namespace DiskImage.Operations.Create;

/// <summary>
/// <c>qemu-img create</c>. <see cref="Prepare"/> checks everything (options, backing file) without
/// writing; <see cref="Execute"/> then writes the image. qemu-img reports the options between the two.
/// </summary>
public static class ImageCreator
{
    /// <summary>Checks the request as qemu-img does and resolves the size from the backing file when it is omitted.</summary>
    public static CreatePlan Prepare(CreateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var registry = request.Registry ?? ImageFormatRegistry.Default;
        if (!registry.TryGet(request.Format, out var format))
        {
            throw new UnknownFormatException($"Unknown file format '{request.Format}'");
        }

        if (!format.CanCreate)
        {
            throw new UnsupportedFeatureException($"Format driver '{format.Name}' does not support image creation");
        }

        var options = format.ParseCreateOptions(request.Size, request.Options);
        options = options with
        {
            BackingFile = request.BackingFile ?? options.BackingFile,
            BackingFormat = request.BackingFormat ?? options.BackingFormat,
            SkipBackingCheck = request.SkipBackingCheck,
            Registry = registry,
            SecretProvider = request.SecretProvider,
        };

        if (options.BackingFile is not null)
        {
            if (format is Formats.Raw.RawFormat || !format.SupportsBackingFiles)
            {
                throw new InvalidOptionException($"Backing file not supported for file format '{format.Name}'");
            }

            if (options.BackingFormat is null)
            {
                throw new InvalidOptionException("Backing file specified without backing format");
            }

            if (!registry.TryGet(options.BackingFormat, out _))
            {
                throw new UnknownFormatException($"Unknown driver '{options.BackingFormat}'");
            }

            if (!request.SkipBackingCheck)
            {
                using var backing = registry.Open(ResolveBacking(request.Path, options.BackingFile), options.BackingFormat, new ImageOpenOptions { OpenBackingChain = false, MetadataOnly = true, Registry = registry });
                options = options with { Size = options.Size ?? backing.Length };
            }
        }

        if (options.Size is null)
        {
            throw new InvalidOptionException("Image creation needs a size parameter");
        }

        return new CreatePlan(request.Path, format, options);
    }

    /// <summary>Writes the image.</summary>
    public static void Execute(CreatePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Format.Create(plan.Path, plan.Options);
    }

    /// <summary>A backing path as QEMU resolves it: relative to the directory of the image that names it.</summary>
    public static string ResolveBacking(string imagePath, string backingFile)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        ArgumentNullException.ThrowIfNull(backingFile);
        if (Path.IsPathRooted(backingFile))
        {
            return backingFile;
        }

        var directory = Path.GetDirectoryName(imagePath);
        return string.IsNullOrEmpty(directory) ? backingFile : Path.Combine(directory, backingFile);
    }
}
