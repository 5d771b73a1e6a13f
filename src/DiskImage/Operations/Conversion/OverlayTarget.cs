using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// A target with a backing file (convert <c>-B</c>/<c>-F</c>, <c>-o backing_file=</c>, and the incremental backup of
/// <c>--bitmap</c>): qemu-img's checks, in its order and words, and the target's creation options.
/// </summary>
internal static class OverlayTarget
{
    private const string BackingFileKey = "backing_file";
    private const string BackingFormatKey = "backing_fmt";

    /// <summary>True when the copy leaves ranges to the target's backing file (qemu-img's <c>target_has_backing</c>).</summary>
    public static bool HasBacking(ConvertOptions options) =>
        options.BackingFile is not null || (!options.NoCreate && options.TargetOptions.ContainsKey(BackingFileKey));

    /// <summary>
    /// The target's creation options with <c>-B</c>/<c>-F</c> in them (they override <c>-o</c>'s keys, as in qemu-img),
    /// after qemu-img's checks of a backing file for the target.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Options(IImageFormat format, long size, IReadOnlyDictionary<string, string> targetOptions, ConvertOptions options)
    {
        if (!options.NoCreate && (options.BackingFile is not null || options.BackingFormat is not null))
        {
            var merged = targetOptions.ToDictionary(p => p.Key, p => p.Value);
            if (options.BackingFile is { } file)
            {
                RequireKey(format, size, BackingFileKey, "Backing file");
                merged[BackingFileKey] = file;
            }

            if (options.BackingFormat is { } backingFormat)
            {
                RequireKey(format, size, BackingFormatKey, "Backing file format");
                merged[BackingFormatKey] = backingFormat;
            }

            targetOptions = merged;
        }

        var hasBacking = HasBacking(options);
        if (options.TargetIsZero && hasBacking)
        {
            throw new InvalidOptionException("Cannot use --target-is-zero when the destination image has a backing file");
        }

        if (options.Sources.Count > 1 && hasBacking)
        {
            throw new InvalidOptionException("Having a backing file for the target makes no sense when concatenating multiple input images");
        }

        if (options.NoCreate)
        {
            return targetOptions;
        }

        if (targetOptions.TryGetValue(BackingFileKey, out var backing))
        {
            if (!targetOptions.ContainsKey(BackingFormatKey))
            {
                throw new InvalidOptionException("Use of backing file requires explicit backing format");
            }

            if (format.Name == "qcow2" && !(options.Registry ?? ImageFormatRegistry.Default).TryGet(targetOptions[BackingFormatKey], out _))
            {
                // qcow2's creation takes only a known driver name (QEMU's BlockdevDriver).
                throw new InvalidOptionException($"{options.Target}: error while converting {format.Name}: Parameter 'backing-fmt' does not accept value '{targetOptions[BackingFormatKey]}'");
            }

            RefuseSelf(options.Target, backing);
        }
        else if (targetOptions.ContainsKey(BackingFormatKey))
        {
            // qemu-img's words come from the format's creation, which it names.
            throw new InvalidOptionException($"{options.Target}: error while converting {format.Name}: Backing format cannot be used without backing file");
        }

        return targetOptions;
    }

    /// <summary>
    /// The bitmap of an incremental backup, checked: the source is one qcow2 image holding it, consistent, and the
    /// target is a new overlay. Null when no bitmap was asked for.
    /// </summary>
    public static Qcow2DirtyBitmap? FindBitmap(IReadOnlyList<IDiskImage> sources, ConvertOptions options)
    {
        if (options.Bitmap is not { } name)
        {
            return null;
        }

        if (options.NoCreate)
        {
            throw new InvalidOptionException("--bitmap writes a new overlay and cannot be used with -n");
        }

        if (!HasBacking(options))
        {
            throw new InvalidOptionException("--bitmap requires a backing file for the target (-B, the previous backup)");
        }

        if (options.Snapshot is not null)
        {
            throw new InvalidOptionException("--bitmap cannot be used with -l (a bitmap tracks the image, not its snapshots)");
        }

        return (sources[0] as Qcow2Image)?.FindBitmap(name) ?? throw new InvalidOptionException($"Bitmap '{name}' is not found");
    }

    /// <summary>qemu-img's <c>add_old_style_options</c>: a format whose creation has no such key refuses it in these words.</summary>
    private static void RequireKey(IImageFormat format, long size, string key, string what)
    {
        bool takesKey;
        try
        {
            var parsed = format.ParseCreateOptions(size, new Dictionary<string, string> { [BackingFileKey] = "x", [BackingFormatKey] = format.Name });
            takesKey = parsed.BackingFile is not null;
        }
        catch (DiskImageException)
        {
            takesKey = false;
        }

        if (!takesKey)
        {
            throw new InvalidOptionException($"{what} not supported for file format '{format.Name}'");
        }
    }

    /// <summary>
    /// A target that would be its own backing file: qemu-img creates it and then fails to open it with a lock
    /// conflict on itself; the same words here, before anything is created (so an existing file is not replaced).
    /// </summary>
    private static void RefuseSelf(string target, string backing)
    {
        if (DiskImage.Options.JsonFilename.IsJson(backing) || Nbd.Client.NbdUri.IsNbd(backing) || Nbd.Client.NbdUri.IsNbd(target))
        {
            return;
        }

        var resolved = Qcow2Image.ResolveBackingPath(target, backing);
        var same = Path.GetFullPath(resolved) == Path.GetFullPath(target)
            || (IO.FileIdentity.Of(resolved) is { } backingId && IO.FileIdentity.Of(target) is { } targetId && backingId == targetId);
        if (same)
        {
            var error = new ImageLockedException("Failed to get shared \"write\" lock", target);
            error.PrependContext($"Could not open '{target}': Could not open backing file: ");
            throw error;
        }
    }
}
