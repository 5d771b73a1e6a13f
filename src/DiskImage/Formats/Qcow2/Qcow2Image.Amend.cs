using DiskImage.Operations;

namespace DiskImage.Formats.Qcow2;

/// <summary>In-place changes of the image's compatibility level and feature bits (qemu-img amend).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Changes the compatibility level (2 or 3), lazy refcounts, refcount width and virtual size without
    /// changing the guest content. Null leaves a setting as it is. Every refusal is found before anything
    /// is written; the changes then happen in QEMU's order (upgrade, width, lazy refcounts, size, downgrade).
    /// Cancellation is honoured between the steps, while a new refcount structure is written (before the header
    /// switches to it, so the old one stays in force and the new clusters are leaked at worst) and between L2
    /// tables while zero clusters are expanded (each expanded entry reads as before); never inside a header switch.
    /// A new data file name (empty: none recorded; only for images that have a data file) and <c>data_file_raw</c>
    /// (it can be cleared, never set anew) are recorded after the refcount width change, as QEMU does.
    /// </summary>
    internal void Amend(int? version, bool? lazyRefcounts, int? refcountBits, long? newSize = null, CancellationToken cancellationToken = default,
        IProgress<OperationProgress>? progress = null, string? dataFile = null, bool? dataFileRaw = null)
    {
        CheckWritable();
        lock (_lock)
        {
            FlushMetadataLocked();
            var target = version ?? _header.Version;
            var newOrder = refcountBits is { } bits ? System.Numerics.BitOperations.Log2((uint)bits) : _header.RefcountOrder;
            var finalSize = newSize ?? _header.Size;
            ValidateAmendLocked(target, lazyRefcounts, refcountBits is not null, newOrder, finalSize);

            var figures = new AmendFigures(progress, (target != _header.Version ? 1 : 0) + (newOrder != _header.RefcountOrder ? 1 : 0));
            if (target >= 3 && _header.Version < 3)
            {
                UpgradeLocked(figures);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (newOrder != _header.RefcountOrder)
            {
                ChangeRefcountOrderLocked(newOrder, cancellationToken, figures);
            }

            cancellationToken.ThrowIfCancellationRequested();
            AmendDataFileLocked(dataFile, dataFileRaw);

            if (lazyRefcounts is { } lazy && lazy != _header.LazyRefcounts && _header.Version >= 3)
            {
                var compatible = lazy
                    ? _header.CompatibleFeatures | Qcow2Constants.CompatibleLazyRefcounts
                    : _header.CompatibleFeatures & ~Qcow2Constants.CompatibleLazyRefcounts;
                _header = _header with { CompatibleFeatures = compatible };
                WriteHeaderLocked();
                _file.Flush();
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (finalSize != _header.Size)
            {
                Resize(finalSize, Preallocation.Off);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (target < 3 && _header.Version >= 3)
            {
                DowngradeLocked(figures, cancellationToken);
            }

            // As QEMU, the amended header's setting is the one in use from now on.
            _lazyRefcounts = _header.LazyRefcounts;
        }
    }

    /// <summary>
    /// Records the data file's new name and clears <c>data_file_raw</c> when asked, in one header write (QEMU does both
    /// after a refcount width change and before everything else). The data file in use is not changed: the name is
    /// for the next open.
    /// </summary>
    private void AmendDataFileLocked(string? dataFile, bool? dataFileRaw)
    {
        var header = _header;
        if (dataFileRaw is { } raw)
        {
            header = header with
            {
                AutoclearFeatures = raw ? header.AutoclearFeatures | Qcow2Constants.AutoclearDataFileRaw : header.AutoclearFeatures & ~Qcow2Constants.AutoclearDataFileRaw,
            };
        }

        if (dataFile is not null)
        {
            header = header.WithExtension(Qcow2Constants.ExtensionDataFile, dataFile.Length == 0 ? null : System.Text.Encoding.UTF8.GetBytes(dataFile));
        }

        if (header.AutoclearFeatures == _header.AutoclearFeatures && header.DataFile == _header.DataFile)
        {
            return;
        }

        _header = header;
        WriteHeaderLocked();
        _file.Flush();
    }

    /// <summary>The refusals of an amend, in QEMU's wording, checked against the state the earlier steps would leave.</summary>
    private void ValidateAmendLocked(int target, bool? lazyRefcounts, bool widthGiven, int newOrder, long finalSize)
    {
        if (widthGiven && newOrder != 4 && target < 3)
        {
            throw new InvalidOptionException("Refcount widths other than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
        }

        if (lazyRefcounts == true && target < 3)
        {
            throw new InvalidOptionException("Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
        }

        if (newOrder != _header.RefcountOrder)
        {
            ValidateRefcountOrderLocked(newOrder);
        }

        if (finalSize != _header.Size)
        {
            // The resize runs after an upgrade and before a downgrade, so the version it sees is the higher one.
            if (finalSize < 0)
            {
                throw new InvalidOptionException("New image size must be positive");
            }

            if (_snapshots.Count > 0 && Math.Max(target, _header.Version) < 3)
            {
                throw new UnsupportedFeatureException("Can't resize a v2 image which has snapshots");
            }

            if (L1EntriesFor(finalSize) * 8 > Qcow2Constants.MaxL1Bytes)
            {
                throw new InvalidOptionException("The image size is too large for this cluster size");
            }
        }

        if (target < 3 && _header.Version >= 3)
        {
            ValidateDowngradeLocked(newOrder, finalSize);
        }
    }

    /// <summary>
    /// Version 2 to 3. Version 3 requires every snapshot entry to carry the 64-bit VM state size and the disk
    /// size, so a table with shorter entries is rewritten first (complete entries, unknown extra data kept).
    /// </summary>
    private void UpgradeLocked(AmendFigures figures)
    {
        figures.Report(AmendOperation.Upgrade, 0, 2);
        if (_snapshots.Any(s => s.ExtraDataSize < 16))
        {
            WriteSnapshotTableLocked([.. _snapshots]);
        }

        figures.Report(AmendOperation.Upgrade, 1, 2);
        _header = _header with
        {
            Version = 3,
            Extensions = [.. _header.Extensions, new Qcow2HeaderExtension(Qcow2Constants.ExtensionFeatureTable, Qcow2Creator.FeatureTable())],
        };
        WriteHeaderLocked();
        _file.Flush();
        figures.Report(AmendOperation.Upgrade, 2, 2);
    }

    /// <summary>The refusals of a downgrade, checked before anything is written.</summary>
    private void ValidateDowngradeLocked(int finalRefcountOrder, long finalSize)
    {
        if (finalRefcountOrder != 4)
        {
            throw new InvalidOptionException("compat=0.10 requires refcount_bits=16");
        }

        if (_header.HasDataFile)
        {
            throw new UnsupportedFeatureException("Cannot downgrade an image with a data file");
        }

        // Version 2 readers may not know that a snapshot's own size or a large VM state matters.
        if (_snapshots.Any(s => s.VmStateSize > uint.MaxValue || (s.DiskSize ?? finalSize) != finalSize))
        {
            throw new UnsupportedFeatureException("Internal snapshots prevent downgrade of image");
        }

        var incompatible = _header.IncompatibleFeatures & ~Qcow2Constants.IncompatibleDirty;
        if (incompatible != 0)
        {
            throw new UnsupportedFeatureException($"Cannot downgrade an image with incompatible features 0x{incompatible:x} set");
        }

        foreach (var snapshot in _snapshots)
        {
            if (snapshot.L1Problem(_clusterSize) is { } problem)
            {
                // QEMU names the table's problem, then the failed zero expansion by its errno.
                var failure = new InvalidImageException($"Failed to turn zero into data clusters: {ErrnoException.Text(problem.Errno)}");
                failure.AddEarlierError(problem.Message);
                throw failure;
            }
        }
    }

    /// <summary>
    /// Turns a version-3 image into a version-2 one: zero clusters are expanded (v2 has no zero flag),
    /// then the header is rewritten without the v3 fields and the feature-name table.
    /// </summary>
    private void DowngradeLocked(AmendFigures figures, CancellationToken cancellationToken)
    {
        ValidateDowngradeLocked(_header.RefcountOrder, _header.Size);
        ExpandZeroClustersLocked(figures, cancellationToken);
        FlushMetadataLocked();
        var bitmapsExtension = Bitmaps.Qcow2BitmapsExtension.From(_header);
        _header = _header with
        {
            Version = 2,
            IncompatibleFeatures = 0,
            CompatibleFeatures = 0,
            AutoclearFeatures = 0,
            HeaderLength = Qcow2Constants.Version2HeaderLength,
            UnknownHeaderFields = [],
            Extensions = [.. _header.Extensions.Where(e => e.Magic is not (Qcow2Constants.ExtensionFeatureTable or Qcow2Constants.ExtensionBitmaps))],
        };
        _dirtyBitSetHere = false;
        WriteHeaderLocked();
        _file.Flush();
        DropBitmapsAfterDowngradeLocked(bitmapsExtension);
    }
}
