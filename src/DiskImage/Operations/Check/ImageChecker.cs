using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Operations.Check;

/// <summary><c>qemu-img check</c>: a consistency check with optional repair, then a fresh check of a repaired image.</summary>
public static class ImageChecker
{
    /// <summary>Whether the format of <paramref name="image"/> can be checked at all (qemu-img exits 63 otherwise).</summary>
    public static bool Supports(IDiskImage image) => image is Qcow2Image or Formats.Vmdk.VmdkImage or IConsistencyCheckable;

    /// <summary>Whether <paramref name="repair"/> can be done on <paramref name="image"/> (vmdk and vdi check but cannot repair: qemu-img exits 63).</summary>
    public static bool Supports(IDiskImage image, CheckRepair repair) =>
        image is Qcow2Image
        || (image is Formats.Vmdk.VmdkImage && repair == CheckRepair.None)
        || (image is IConsistencyCheckable checkable && (repair == CheckRepair.None || checkable.CanRepair));

    /// <summary>
    /// Checks <paramref name="image"/> (opened for writing with <see cref="ImageOpenOptions.ForRepair"/> when
    /// <paramref name="repair"/> is not <see cref="CheckRepair.None"/>). For qcow2, cancellation is honoured during
    /// the repair too, wherever stopping leaves leaked clusters at worst and never a corruption the image did not
    /// have; the dirty and corrupt bits are cleared only by a repair that ran to its end.
    /// </summary>
    /// <param name="image">The image to check.</param>
    /// <param name="repair">What to repair, if anything.</param>
    /// <param name="progress">
    /// For qcow2, counts the L1 entries (active and snapshot tables) whose L2 tables have been walked; other formats
    /// report only the start and the end.
    /// </param>
    /// <param name="cancellationToken">Stops the check (see above for where a repair may stop).</param>
    public static ImageCheckResult Check(IDiskImage image, CheckRepair repair, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image is not Qcow2Image)
        {
            // Their checks are short and not interruptible: only the start is a cancellation point.
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new OperationProgress(0, 1));
            var result = CheckOther(image, repair);
            progress?.Report(new OperationProgress(1, 1));
            return result;
        }

        return CheckQcow2((Qcow2Image)image, repair, progress, cancellationToken);
    }

    private static ImageCheckResult CheckOther(IDiskImage image, CheckRepair repair)
    {
        if (image is Formats.Vmdk.VmdkImage vmdk)
        {
            return new ImageCheckResult(image.FilePath, image.Format.Name, vmdk.Check(repair), null);
        }

        if (image is IConsistencyCheckable checkable)
        {
            // As for qcow2, something repaired (a replayed VHDX log) is followed by a fresh check.
            var pass = checkable.Check(repair);
            return pass.CorruptionsFixed == 0 && pass.LeaksFixed == 0
                ? new ImageCheckResult(image.FilePath, image.Format.Name, pass, null)
                : new ImageCheckResult(image.FilePath, image.Format.Name, checkable.Check(CheckRepair.None), pass);
        }

        throw new UnsupportedFeatureException("This image format does not support checks");
    }

    private static ImageCheckResult CheckQcow2(Qcow2Image qcow2, CheckRepair repair, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        IDiskImage image = qcow2;
        cancellationToken.ThrowIfCancellationRequested();
        var first = qcow2.Check(repair, cancellationToken, progress);
        if (first.CorruptionsFixed == 0 && first.LeaksFixed == 0)
        {
            return new ImageCheckResult(image.FilePath, image.Format.Name, first, null);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var second = qcow2.Check(CheckRepair.None, cancellationToken);
        return new ImageCheckResult(image.FilePath, image.Format.Name, second, first);
    }
}
