using DiskImage.Crypto;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Operations.Amend;

/// <summary>
/// <c>qemu-img amend</c>. Supported so far: LUKS key slot changes on qcow2 (<c>encrypt.state</c>,
/// <c>encrypt.keyslot</c>, <c>encrypt.new-secret</c>, <c>encrypt.old-secret</c>, <c>encrypt.iter-time</c>).
/// Other keys are refused by name before the image is touched.
/// </summary>
public static class ImageAmender
{
    /// <summary>
    /// Amends. Cancellation is honoured before the image is changed and, for qcow2 layout changes, at every point
    /// where stopping leaves the image consistent (leaked clusters at worst; see <c>Qcow2Image.Amend</c>); a LUKS
    /// key-slot change that has begun runs to its end.
    /// </summary>
    /// <param name="options">The image and the <c>-o</c> keys.</param>
    /// <param name="progress">Counts the steps done of the amendment's six (upgrade, refcount width, lazy refcounts, size, downgrade, key slots).</param>
    /// <param name="registry">The formats to open the image with; <see cref="ImageFormatRegistry.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops the amendment where that leaves the image consistent.</param>
    public static void Run(AmendOptions options, IProgress<OperationProgress>? progress = null, ImageFormatRegistry? registry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Options.Count == 0)
        {
            throw new InvalidOptionException("Expecting one image file name and -o options");
        }

        var other = options.Options.Keys.FirstOrDefault(k => !k.StartsWith("encrypt.", StringComparison.Ordinal) && !Qcow2LayoutAmendment.Handles(k));
        if (other is not null)
        {
            throw new UnsupportedFeatureException($"Amending '{other}' is not supported yet");
        }

        var encryptKeys = options.Options.Where(o => o.Key.StartsWith("encrypt.", StringComparison.Ordinal)).ToDictionary(o => o.Key, o => o.Value);
        var amendment = encryptKeys.Count == 0 ? null : LuksAmendOptions.FromKeyValues(encryptKeys, options.Force);
        registry ??= ImageFormatRegistry.Default;
        using var image = registry.Open(options.Path, options.Format, new ImageOpenOptions
        {
            ReadOnly = false,
            OpenBackingChain = false,
            SecretProvider = options.SecretProvider,
            KeySecret = options.KeySecret,
        });
        if (image is not Qcow2Image qcow2)
        {
            throw new UnsupportedFeatureException($"Format driver '{image.Format.Name}' does not support option amendment");
        }

        cancellationToken.ThrowIfCancellationRequested();
        Qcow2LayoutAmendment.Apply(qcow2, options.Options, progress, cancellationToken);
        if (amendment is not null)
        {
            qcow2.AmendEncryption(amendment);
        }

        progress?.Report(new OperationProgress(Qcow2Image.AmendSteps, Qcow2Image.AmendSteps));
    }
}
