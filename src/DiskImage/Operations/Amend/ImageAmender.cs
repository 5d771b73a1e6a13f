using DiskImage.Crypto;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Operations.Amend;

/// <summary>
/// <c>qemu-img amend</c> of qcow2 images: compat (upgrade, and downgrade with zero-cluster expansion), lazy refcounts,
/// refcount width, size, and LUKS key slots (<c>encrypt.state</c>, <c>encrypt.keyslot</c>, <c>encrypt.new-secret</c>,
/// <c>encrypt.old-secret</c>, <c>encrypt.iter-time</c>). Keys are checked against qcow2's amend options, in qemu-img's
/// words, once the image is open and before it is changed.
/// </summary>
public static class ImageAmender
{
    /// <summary>qcow2's amendable keys.</summary>
    private static readonly HashSet<string> AmendKeys = new(StringComparer.Ordinal)
    {
        "size", "compat", "backing_file", "backing_fmt", "data_file", "data_file_raw", "lazy_refcounts", "refcount_bits",
        "encrypt.state", "encrypt.keyslot", "encrypt.old-secret", "encrypt.new-secret", "encrypt.iter-time",
    };

    /// <summary>qcow2's keys that only image creation takes (qemu-img adds a hint saying so).</summary>
    private static readonly HashSet<string> CreateOnlyKeys = new(StringComparer.Ordinal)
    {
        "cluster_size", "extended_l2", "preallocation", "compression_type", "encryption", "encrypt.format",
        "encrypt.key-secret", "encrypt.cipher-alg", "encrypt.cipher-mode", "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg",
        "encrypt.hash-alg",
    };

    /// <summary>
    /// Amends. Cancellation is honoured before the image is changed and, for qcow2 layout changes, at every point
    /// where stopping leaves the image consistent (leaked clusters at worst; see <c>Qcow2Image.Amend</c>); a LUKS
    /// key-slot change that has begun runs to its end.
    /// </summary>
    /// <param name="options">The image and the <c>-o</c> keys.</param>
    /// <param name="progress">qemu-img's figures: a version upgrade's three steps and a downgrade's L1 entries walked (active and snapshot tables), shared out as QEMU projects them; then the end.</param>
    /// <param name="registry">The formats to open the image with; <see cref="ImageFormatRegistry.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops the amendment where that leaves the image consistent.</param>
    public static void Run(AmendOptions options, IProgress<OperationProgress>? progress = null, ImageFormatRegistry? registry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Options.Count == 0)
        {
            throw new InvalidOptionException("Expecting one image file name and -o options");
        }

        registry ??= ImageFormatRegistry.Default;
        if (options.Options.Keys.All(s_luksKeys.Contains) && IsLuks(options, registry))
        {
            AmendLuks(options, registry, progress, cancellationToken);
            return;
        }

        using var image = OpenForAmend(options, registry);
        if (image is not Qcow2Image qcow2)
        {
            throw new UnsupportedFeatureException($"Format driver '{image.Format.Name}' does not support option amendment");
        }

        // As qemu-img, keys are checked against the format's amend options once the image is open.
        if (options.Options.Keys.FirstOrDefault(k => !AmendKeys.Contains(k)) is { } other)
        {
            throw new InvalidOptionException(CreateOnlyKeys.Contains(other)
                ? $"Invalid parameter '{other}'\nThis option is only supported for image creation"
                : $"Invalid parameter '{other}'");
        }

        // The key slot options are read once the image is open and the keys are known, as qemu-img reads them.
        var encryptKeys = options.Options.Where(o => o.Key.StartsWith("encrypt.", StringComparison.Ordinal)).ToDictionary(o => o.Key, o => o.Value);
        if (encryptKeys.Count > 0 && qcow2.Cipher is null)
        {
            throw new InvalidOptionException("Can't amend encryption options - encryption not present");
        }

        var amendment = encryptKeys.Count == 0 ? null : LuksAmendOptions.FromKeyValues(encryptKeys, options.Force);
        cancellationToken.ThrowIfCancellationRequested();
        Qcow2LayoutAmendment.Apply(qcow2, options.Options, progress, cancellationToken);
        if (amendment is not null)
        {
            qcow2.AmendEncryption(amendment);
        }
    }

    /// <summary>A luks image's amend keys: its key slot options without qcow2's <c>encrypt.</c> prefix.</summary>
    private static readonly HashSet<string> s_luksKeys = ["state", "keyslot", "new-secret", "old-secret", "iter-time"];

    /// <summary>Whether the image is (named or probed as) a standalone LUKS image.</summary>
    private static bool IsLuks(AmendOptions options, ImageFormatRegistry registry)
    {
        if (options.Format is { } format)
        {
            return format == Formats.Luks.LuksFormat.Instance.Name;
        }

        try
        {
            return registry.Probe(options.Path) is Formats.Luks.LuksFormat;
        }
        catch (DiskImageException)
        {
            // The open below reports a file that cannot be read, in qemu-img's words.
            return false;
        }
    }

    /// <summary>Key slot changes of a luks image, as QEMU's luks driver amends (the same rules as qcow2's <c>encrypt.*</c>).</summary>
    private static void AmendLuks(AmendOptions options, ImageFormatRegistry registry, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        using var image = OpenForAmend(options, registry);
        var amendment = LuksAmendOptions.FromKeyValues(options.Options.ToDictionary(o => "encrypt." + o.Key, o => o.Value), options.Force);
        cancellationToken.ThrowIfCancellationRequested();
        ((Formats.Luks.LuksImage)image).AmendKeySlots(amendment);
        progress?.Report(new OperationProgress(1, 1));
    }

    /// <summary>Opens the image read-write without its backing chain, as every amendment needs it.</summary>
    private static IDiskImage OpenForAmend(AmendOptions options, ImageFormatRegistry registry) =>
        registry.Open(options.Path, options.Format, new ImageOpenOptions
        {
            ReadOnly = false,
            OpenBackingChain = false,
            SecretProvider = options.SecretProvider,
            KeySecret = options.KeySecret,
            RepairReport = options.RepairReport,
            DirectIo = options.DirectIo,
        });
}
