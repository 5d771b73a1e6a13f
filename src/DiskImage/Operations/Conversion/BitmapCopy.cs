using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// <c>qemu-img convert --bitmaps</c>: checks before the target exists (one source, a qcow2 version 3 source, no
/// inconsistent bitmap unless skipped), a target that can hold bitmaps, and after the data copy each source bitmap
/// added to the target (same name, granularity and enabled state) and merged from the source, in QEMU's order.
/// </summary>
internal static class BitmapCopy
{
    /// <summary>qemu-img's <c>convert_check_bitmaps</c> and its target-format check, before the target is created.</summary>
    public static void Check(ConvertOptions options, IReadOnlyList<IDiskImage> sources, string targetFormat)
    {
        if (!options.CopyBitmaps)
        {
            return;
        }

        if (sources.Count > 1)
        {
            throw new InvalidOptionException("Copying bitmaps only possible with single source");
        }

        if (sources[0] is not Qcow2Image { SupportsPersistentBitmaps: true } source)
        {
            throw new UnsupportedFeatureException("Source lacks bitmap support");
        }

        if (!options.SkipBrokenBitmaps && source.InconsistentBitmapNames().LastOrDefault() is { } broken)
        {
            // QEMU walks its bitmaps newest first, so the last one of the directory is named.
            throw new UnsupportedFeatureException($"Cannot copy inconsistent bitmap '{broken}'\nTry --skip-broken-bitmaps, or use 'qemu-img bitmap --remove' to delete it");
        }

        if (targetFormat != "qcow2")
        {
            throw new UnsupportedFeatureException($"Format driver '{targetFormat}' does not support bitmaps");
        }
    }

    /// <summary>The opened target must hold bitmaps too (a qcow2 created or found as version 2 cannot).</summary>
    public static void CheckTarget(ConvertOptions options, IDiskImage target)
    {
        if (options.CopyBitmaps && target is not Qcow2Image { SupportsPersistentBitmaps: true })
        {
            throw new UnsupportedFeatureException($"Format driver '{target.Format.Name}' does not support bitmaps");
        }
    }

    /// <summary>qemu-img's <c>convert_copy_bitmaps</c>: source bitmaps newest first (QEMU's list order), each added then merged.</summary>
    public static void Copy(ConvertOptions options, IReadOnlyList<IDiskImage> sources, IDiskImage target, CancellationToken cancellationToken)
    {
        if (!options.CopyBitmaps || sources[0] is not Qcow2Image source || target is not Qcow2Image into)
        {
            return;
        }

        var inconsistent = source.InconsistentBitmapNames().ToHashSet(StringComparer.Ordinal);
        foreach (var bitmap in source.ListBitmaps().Reverse())
        {
            if (inconsistent.Contains(bitmap.Name))
            {
                options.BitmapWarning?.Invoke($"Skipping inconsistent bitmap '{bitmap.Name}'");
                continue;
            }

            try
            {
                into.AddBitmap(bitmap.Name, bitmap.Granularity);
                if (!bitmap.Flags.Contains("auto"))
                {
                    into.DisableBitmap(bitmap.Name);
                }
            }
            catch (DiskImageException e)
            {
                e.PrependContext($"Failed to create bitmap {bitmap.Name}: ");
                throw;
            }

            try
            {
                into.MergeBitmap(bitmap.Name, source, bitmap.Name, cancellationToken);
            }
            catch (DiskImageException e)
            {
                e.PrependContext($"Failed to populate bitmap {bitmap.Name}: ");
                into.RemoveBitmap(bitmap.Name);
                throw;
            }
        }
    }
}
