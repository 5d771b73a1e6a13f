namespace DiskImage.Formats.Qcow2;

/// <summary>
/// QEMU's metadata overlap check: before guest data or a modified L2 table goes to a host cluster that
/// the image's tables pointed at, make sure that cluster is not the header, an L1 table, the refcount
/// table, a refcount block or the snapshot table. A crafted or corrupted table could otherwise make a
/// guest write overwrite metadata. On a hit the image is marked corrupt, as QEMU does, and nothing is
/// written.
/// </summary>
public sealed partial class Qcow2Image
{
    private volatile bool _markedCorrupt;
    private bool _signaledCorruption;

    /// <summary>Whether a fatal corruption event took the driver away (see <see cref="CheckDriverPresent"/>).</summary>
    internal bool DriverDropped => _markedCorrupt;

    /// <summary>Throws, after marking the image corrupt, when <c>[hostOffset, hostOffset + length)</c> overlaps metadata.</summary>
    private void CheckNoMetadataOverlap(long hostOffset, long length, string writing)
    {
        // Guest data of an image with an external data file goes to that file, where no metadata lives (as QEMU).
        if (HasDataFile && writing is "guest data" or "a data cluster")
        {
            return;
        }

        if (FindMetadataOverlap(hostOffset, length) is not { } metadata)
        {
            return;
        }

        lock (_lock)
        {
            if (!_markedCorrupt)
            {
                // QEMU's fatal corruption event prints this once; later events are suppressed.
                _options.RepairReport?.Invoke($"qcow2: Marking image as corrupt: Preventing invalid write on metadata (overlaps with {metadata}); further corruption events will be suppressed");
            }

            MarkCorruptLocked();
        }

        throw new ImageCorruptException(
            $"Marking image as corrupt: Preventing invalid write of {writing} on metadata (overlaps with {metadata}); further writes are refused");
    }

    /// <summary>
    /// Marks the image corrupt with QEMU's stderr line (through <see cref="ImageOpenOptions.RepairReport"/>) and fails the
    /// operation with EIO, as QEMU's qcow2_signal_corruption does for a fatal event.
    /// </summary>
    private void SignalCorruptionLocked(string message)
    {
        _options.RepairReport?.Invoke($"qcow2: Marking image as corrupt: {message}; further corruption events will be suppressed");
        MarkCorruptLocked();
        throw new ImageCorruptException($"Marking image as corrupt: {message}");
    }

    /// <summary>Names the metadata structure the range overlaps, or null when it overlaps none.</summary>
    private string? FindMetadataOverlap(long hostOffset, long length)
    {
        var end = hostOffset + length;
        var header = _header;
        if (hostOffset < _clusterSize)
        {
            return "qcow2_header";
        }

        if (Overlaps(hostOffset, end, header.L1TableOffset, header.L1Size * 8L))
        {
            return "active L1 table";
        }

        if (Overlaps(hostOffset, end, header.RefcountTableOffset, (long)header.RefcountTableClusters << _clusterBits))
        {
            return "refcount table";
        }

        if (header.SnapshotCount > 0 && Overlaps(hostOffset, end, header.SnapshotsOffset, Math.Max(SnapshotTableLength(), 1)))
        {
            return "snapshot table";
        }

        foreach (var snapshot in _snapshots)
        {
            if (Overlaps(hostOffset, end, snapshot.L1TableOffset, snapshot.L1Size * 8L))
            {
                return "inactive L1 table";
            }
        }

        if (_refcounts is { } refcounts && refcounts.AnyBlockOverlaps(hostOffset, end))
        {
            return "refcount block";
        }

        return null;
    }

    private static bool Overlaps(long start, long end, long regionStart, long regionLength) =>
        regionLength > 0 && start < regionStart + regionLength && regionStart < end;

    /// <summary>
    /// Corrupt metadata met while the image is writable: reported once (QEMU prints this line itself, without the
    /// program's name), then the image is marked corrupt so that nothing more is written to it. The caller fails.
    /// </summary>
    private void ReportCorruptionLocked(string message)
    {
        if (_markedCorrupt)
        {
            return;
        }

        ImageWarnings.Report($"qcow2: Marking image as corrupt: {message}; further corruption events will be suppressed");
        MarkCorruptLocked();
    }

    /// <summary>
    /// After a fatal corruption event QEMU drops the node's driver: every later guest request through this handle
    /// fails with ENOMEDIUM (qemu-io's <c>No medium found</c>), reads included, before any other check.
    /// </summary>
    private void CheckDriverPresent()
    {
        if (_markedCorrupt)
        {
            throw new ErrnoException(ErrnoException.ENOMEDIUM, "No medium found");
        }
    }

    /// <summary>
    /// A guest read or write met an unusable L2 entry: as QEMU's driver does, a writable image is marked corrupt with
    /// its fatal event line; a read-only one reports a non-fatal event, once. The caller then fails with EIO.
    /// </summary>
    private void SignalEntryCorruption(string message)
    {
        lock (_lock)
        {
            if (_file.CanWrite)
            {
                ReportCorruptionLocked(message);
            }
            else if (!_signaledCorruption)
            {
                _signaledCorruption = true;
                ImageWarnings.Report($"qcow2: Image is corrupt: {message}; further non-fatal corruption events will be suppressed");
            }
        }
    }

    /// <summary>Sets the corrupt bit on disk (synced) and refuses every later request through this handle.</summary>
    private void MarkCorruptLocked()
    {
        _markedCorrupt = true;
        _header = _header with { IncompatibleFeatures = _header.IncompatibleFeatures | Qcow2Constants.IncompatibleCorrupt };
        WriteHeaderLocked();
        _file.Flush();
    }
}
