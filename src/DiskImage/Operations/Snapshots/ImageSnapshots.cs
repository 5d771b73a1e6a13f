using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Operations.Snapshots;

/// <summary>Lists, creates, applies and deletes internal snapshots (qemu-img snapshot).</summary>
public static class ImageSnapshots
{
    /// <summary>Runs one operation and returns the snapshot list afterwards (what <c>-l</c> prints).</summary>
    /// <param name="options">The image, the action and the snapshot's name.</param>
    /// <param name="progress">
    /// For <see cref="SnapshotAction.Apply"/>, counts the L1 entries of the snapshot's and the active table walked,
    /// plus one step for the switch; other actions report nothing.
    /// </param>
    /// <param name="cancellationToken">
    /// Stops an apply while the tables are walked, before anything is written (the switch that follows is short
    /// and runs to its end); other actions are only cancellable before they start.
    /// </param>
    public static IReadOnlyList<SnapshotInfo> Run(SnapshotOptions options, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        var readOnly = options.Action == SnapshotAction.List;
        using var image = ImageFormatRegistry.Default.Open(options.Path, options.Format,
            new ImageOpenOptions { ReadOnly = readOnly, OpenBackingChain = !readOnly, SecretProvider = options.SecretProvider, KeySecret = options.KeySecret, ForceShare = options.ForceShare, RepairReport = options.DriverMessages });
        if (image is not Qcow2Image qcow2)
        {
            return options.Action switch
            {
                SnapshotAction.List => [],
                SnapshotAction.Create => throw new UnsupportedFeatureException($"Could not create snapshot '{options.Name}': -95 (Operation not supported)"),
                SnapshotAction.Apply => throw new UnsupportedFeatureException($"Could not apply snapshot '{options.Name}': Block driver does not support snapshots"),
                _ => throw new InvalidOptionException($"Could not delete snapshot '{options.Name}': snapshot not found"),
            };
        }

        var name = options.Name ?? "";
        var selector = new Qcow2SnapshotSelector { IdOrName = name };
        switch (options.Action)
        {
            case SnapshotAction.Create:
                Prefixed($"Could not create snapshot '{name}'", () => qcow2.CreateSnapshot(name, options.Date ?? DateTimeOffset.UtcNow));
                break;
            case SnapshotAction.Apply:
                Prefixed($"Could not apply snapshot '{name}'", () => qcow2.ApplySnapshot(selector, progress, cancellationToken));
                break;
            case SnapshotAction.Delete:
                // qemu-img looks the snapshot to delete up by name only.
                Prefixed($"Could not delete snapshot '{name}'", () => qcow2.DeleteSnapshot(new Qcow2SnapshotSelector { Name = name }));
                break;
        }

        return qcow2.Snapshots.Select(s => s.ToInfo()).ToList();
    }

    /// <summary>
    /// Opens a read-only view of an internal snapshot of a qcow2 image (convert/measure <c>-l</c>): reads
    /// return the snapshot's content at the image's current length, as qemu-img convert -l does.
    /// </summary>
    public static IDiskImage OpenSnapshot(string path, string? format, Qcow2SnapshotSelector selector, ImageOpenOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(selector);
        options ??= new ImageOpenOptions();
        var formatName = format ?? ImageFormatRegistry.Default.Probe(path).Name;
        if (!string.Equals(formatName, Qcow2Format.Instance.Name, StringComparison.OrdinalIgnoreCase))
        {
            throw new UnsupportedFeatureException($"Failed to load snapshot: Block format '{formatName}' used by device '' does not support temporarily loading internal snapshots");
        }

        return Qcow2Image.OpenSnapshot(path, selector, options with { ReadOnly = true });
    }

    private static void Prefixed(string prefix, Action action)
    {
        try
        {
            action();
        }
        catch (DiskImageException e) when (prefix.StartsWith("Could not create", StringComparison.Ordinal) && ErrnoException.Of(e) is { } errno)
        {
            // qemu-img reports a failed creation by its errno alone.
            throw new ImageAccessException($"{prefix}: -{errno} ({ErrnoException.Text(errno)})", e);
        }
        catch (ErrnoException e) when (prefix.StartsWith("Could not delete", StringComparison.Ordinal))
        {
            throw new ErrnoException(e.Errno, $"{prefix}: {e.Message}");
        }
        catch (DiskImageException e) when (e.EarlierErrors.Count > 0)
        {
            e.PrependContext(prefix + ": ");
            throw;
        }
        catch (UnsupportedFeatureException e)
        {
            throw new UnsupportedFeatureException($"{prefix}: {e.Message}", e);
        }
        catch (InvalidImageException e)
        {
            throw new InvalidImageException($"{prefix}: {e.Message}", e);
        }
        catch (DiskImageException e) when (e.GetType() == typeof(DiskImageException) || e is InvalidOptionException)
        {
            throw new InvalidOptionException($"{prefix}: {e.Message}", e);
        }
    }
}
