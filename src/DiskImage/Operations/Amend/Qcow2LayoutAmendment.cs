using System.Globalization;
using DiskImage.Formats.Qcow2;
using DiskImage.Operations.Resize;
using DiskImage.Options;

namespace DiskImage.Operations.Amend;

/// <summary>The qcow2 layout keys of <c>qemu-img amend</c>: compat, lazy_refcounts, refcount_bits, size data_file, data_file_raw (and the refused backing keys).</summary>
internal static class Qcow2LayoutAmendment
{
    /// <summary>Applies the layout keys found in <paramref name="options"/> (others are ignored here).</summary>
    public static void Apply(Qcow2Image image, IReadOnlyDictionary<string, string> options, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        int? version = null;
        bool? lazy = null;
        int? refcountBits = null;
        string? size = null;
        string? backingFile = null, backingFormat = null;
        string? dataFile = null;
        bool? dataFileRaw = null;
        foreach (var (key, value) in options)
        {
            switch (key)
            {
                case "compat":
                    version = value switch
                    {
                        "0.10" or "v2" => 2,
                        "1.1" or "v3" => 3,
                        _ => throw new InvalidOptionException($"Unknown compatibility level {value}"),
                    };
                    break;
                case "lazy_refcounts":
                    lazy = value switch
                    {
                        "on" => true,
                        "off" => false,
                        _ => throw new InvalidOptionException($"Parameter 'lazy_refcounts' expects 'on' or 'off'"),
                    };
                    break;
                case "refcount_bits":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var bits) || bits is < 1 or > 64 || (bits & (bits - 1)) != 0)
                    {
                        throw new InvalidOptionException("Refcount width must be a power of two and may not exceed 64 bits");
                    }

                    refcountBits = bits;
                    break;
                case "size":
                    size = value;
                    break;
                case "backing_file":
                    backingFile = value;
                    break;
                case "backing_fmt":
                    backingFormat = value;
                    break;
                case "data_file" when !image.Header.HasDataFile:
                    throw new InvalidOptionException("data-file can only be set for images that use an external data file");
                case "data_file":
                    dataFile = value;
                    break;
                case "data_file_raw":
                    dataFileRaw = KeyValueOptions.ParseBool(key, value);
                    if (dataFileRaw == true && !(image.Header.HasDataFile && image.Header.DataFileRaw))
                    {
                        throw new InvalidOptionException("data-file-raw cannot be set on existing images");
                    }

                    break;
                default:
                    break;
            }
        }

        // Naming the backing file the image already has is accepted; changing it is rebase's job.
        if ((backingFile is not null || backingFormat is not null)
            && (backingFile != image.Header.BackingFile || backingFormat != image.Header.BackingFormat))
        {
            throw new InvalidOptionException("Cannot amend the backing file\nYou can use 'qemu-img rebase' instead.");
        }

        // The size goes in with the other changes, so every refusal is known before anything is written.
        image.Amend(version, lazy, refcountBits, size is null ? null : ImageResizer.TargetSize(size, image.Length), cancellationToken, progress, dataFile, dataFileRaw);
    }
}
