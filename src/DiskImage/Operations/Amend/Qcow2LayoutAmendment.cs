using System.Globalization;
using DiskImage.Formats.Qcow2;
using DiskImage.Operations.Resize;

namespace DiskImage.Operations.Amend;

/// <summary>The qcow2 layout keys of <c>qemu-img amend</c>: compat, lazy_refcounts, refcount_bits, size (and the refused backing keys).</summary>
internal static class Qcow2LayoutAmendment
{
    public static bool Handles(string key) => key is "compat" or "lazy_refcounts" or "refcount_bits" or "size" or "backing_file" or "backing_fmt";

    /// <summary>Applies the layout keys found in <paramref name="options"/> (others are ignored here).</summary>
    public static void Apply(Qcow2Image image, IReadOnlyDictionary<string, string> options, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        int? version = null;
        bool? lazy = null;
        int? refcountBits = null;
        string? size = null;
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
                case "backing_file" or "backing_fmt":
                    throw new InvalidOptionException("Cannot amend the backing file");
                default:
                    break;
            }
        }

        // The size goes in with the other changes, so every refusal is known before anything is written.
        image.Amend(version, lazy, refcountBits, size is null ? null : ImageResizer.TargetSize(size, image.Length), cancellationToken, progress);
    }
}
