using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Operations.Bitmaps;

/// <summary>
/// <c>qemu-img bitmap</c>: opens the image for writing (no backing chain) and the merge source image, if any,
/// read-only; applies each step in order to the one bitmap. The first failure stops the run with QEMU's
/// <c>Operation OP on bitmap NAME failed: </c> in front of the reason; the steps before it stay applied, as
/// they do with qemu-img, and are stored when the image closes.
/// </summary>
public static class ImageBitmaps
{
    /// <summary>Applies the steps of <paramref name="options"/> in order; throws on the first that fails.</summary>
    /// <param name="options">The image, the bitmap and the steps.</param>
    /// <param name="cancellationToken">Checked between steps; steps already applied stay applied.</param>
    public static void Run(BitmapOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var registry = ImageFormatRegistry.Default;
        using var image = registry.Open(options.Path, options.Format, new ImageOpenOptions
        {
            ReadOnly = false,
            OpenBackingChain = false,
            SecretProvider = options.SecretProvider,
            KeySecret = options.KeySecret,
        });
        using var source = options.SourcePath is null ? null : registry.Open(options.SourcePath, options.SourceFormat, new ImageOpenOptions
        {
            OpenBackingChain = false,
            SecretProvider = options.SecretProvider,
        });
        foreach (var step in options.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                Apply(image, source ?? image, options, step, cancellationToken);
            }
            catch (DiskImageException e)
            {
                e.PrependContext($"Operation {Verb(step.Action)} on bitmap {options.Bitmap} failed: ");
                throw;
            }
        }
    }

    private static void Apply(IDiskImage image, IDiskImage source, BitmapOptions options, BitmapStep step, CancellationToken cancellationToken)
    {
        var name = options.Bitmap;
        if (image is not Qcow2Image qcow2)
        {
            // Other formats hold no bitmaps: nothing to find, and a new one could not be stored.
            throw step.Action == BitmapAction.Add
                ? (DiskImageException?)AddRefusal(name, options.Granularity) ?? new UnsupportedFeatureException($"Can't store persistent bitmaps to {QemuNodeName.Next()}: Operation not supported")
                : new InvalidOptionException($"Dirty bitmap '{name}' not found");
        }

        switch (step.Action)
        {
            case BitmapAction.Add:
                qcow2.AddBitmap(name, options.Granularity);
                break;
            case BitmapAction.Remove:
                qcow2.RemoveBitmap(name);
                break;
            case BitmapAction.Clear:
                qcow2.ClearBitmap(name);
                break;
            case BitmapAction.Enable:
                qcow2.EnableBitmap(name);
                break;
            case BitmapAction.Disable:
                qcow2.DisableBitmap(name);
                break;
            case BitmapAction.Merge:
                qcow2.MergeBitmap(name, source, step.MergeSource ?? throw new ArgumentException("A merge needs a source bitmap", nameof(step)), cancellationToken);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.Action, "Unknown bitmap action");
        }
    }

    /// <summary>The checks QEMU makes before it asks the format whether it can store a bitmap.</summary>
    private static InvalidOptionException? AddRefusal(string name, long granularity) =>
        name.Length == 0 ? new InvalidOptionException("Bitmap name cannot be empty")
        : granularity != 0 && (granularity < 512 || (granularity & (granularity - 1)) != 0) ? new InvalidOptionException("Granularity must be power of 2 and at least 512")
        : null;

    private static string Verb(BitmapAction action) => action switch
    {
        BitmapAction.Add => "add",
        BitmapAction.Remove => "remove",
        BitmapAction.Clear => "clear",
        BitmapAction.Enable => "enable",
        BitmapAction.Disable => "disable",
        _ => "merge",
    };
}
