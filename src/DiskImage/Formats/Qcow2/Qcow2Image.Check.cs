using System.Buffers.Binary;
using DiskImage.Operations;
using DiskImage.Operations.Check;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// The consistency check (<c>qemu-img check</c>) and its repairs: every reference is recounted and compared
/// with the stored refcounts, then the COPIED flags are compared with the (repaired) refcounts. This is the
/// one place refcounts are recounted; the repair of dirty lazy-refcount images uses it too.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>The token of the running check; see <see cref="Check"/> for where it is honoured.</summary>
    private CancellationToken _checkCancellation;

    /// <summary>Where the running check reports the L1 entries it has counted (first counting pass only).</summary>
    private IProgress<OperationProgress>? _checkProgress;
    private long _checkDone;
    private long _checkTotal;

    /// <summary>
    /// Runs one check pass. Repairs need the image opened for writing (in repair mode when the corrupt bit is
    /// set); a repair that leaves no corruption clears the dirty and corrupt bits, as QEMU does.
    /// </summary>
    /// <remarks>
    /// Cancellation is honoured only where stopping adds no corruption: while references are counted (each
    /// repair made there removes a reference to a cluster that is not the image's), before and after a refcount
    /// rebuild (the old structure is leaked at worst), before refcounts are repaired, and while COPIED flags are
    /// compared unless refcounts were just changed (a refcount that became 1 needs its flag set in the same run).
    /// A cancelled repair keeps the dirty and corrupt bits it found.
    /// </remarks>
    internal CheckCounts Check(CheckRepair fix, CancellationToken cancellationToken = default, IProgress<OperationProgress>? progress = null)
    {
        if (fix != CheckRepair.None && !_file.CanWrite)
        {
            throw new InvalidOperationException("Repairing needs the image opened for writing.");
        }

        lock (_lock)
        {
            var wasInPlace = _inPlaceUpdate;
            _inPlaceUpdate = wasInPlace || fix != CheckRepair.None;
            _checkCancellation = cancellationToken;
            _checkProgress = progress;
            _checkDone = 0;
            _checkTotal = _l1.Length + _snapshots.Sum(s => (long)s.L1Size);
            _checkProgress?.Report(new OperationProgress(0, _checkTotal));
            try
            {
                var counts = CheckLocked(fix);
                _inPlaceUpdate = wasInPlace;
                return counts;
            }
            finally
            {
                _checkCancellation = default;
                _checkProgress = null;
            }
        }
    }

    private CheckCounts CheckLocked(CheckRepair fix)
    {
        var res = new CheckCounts();
        var rewriteSnapshotTable = CheckSnapshotTableLocked(res, fix);
        CheckRefcountsLocked(res, fix);
        if (rewriteSnapshotTable && res.CheckErrors == 0)
        {
            // Rewriting stores every entry with complete extra data (the disk size is the current one).
            WriteSnapshotTableLocked([.. _snapshots]);
        }
        if (fix != CheckRepair.None && res.CheckErrors == 0 && res.Corruptions == 0)
        {
            FlushMetadataLocked();
            var cleared = _header.IncompatibleFeatures & ~(Qcow2Constants.IncompatibleDirty | Qcow2Constants.IncompatibleCorrupt);
            if (cleared != _header.IncompatibleFeatures)
            {
                _header = _header with { IncompatibleFeatures = cleared };
                WriteHeaderLocked();
            }

            _file.Flush();
        }

        return res;
    }

    /// <summary>
    /// QEMU's <c>qcow2_check_read_snapshot_table</c>: a version-3 entry must carry at least the 64-bit VM-state
    /// size and the disk size in its extra data. Returns whether the table must be rewritten to repair that.
    /// </summary>
    private bool CheckSnapshotTableLocked(CheckCounts res, CheckRepair fix)
    {
        var repair = (fix & CheckRepair.Errors) != 0;
        var rewrite = _snapshotTableUnread && ReadSnapshotTableForCheckLocked(res, repair);
        for (var i = 0; i < _snapshots.Count && _header.Version >= 3; i++)
        {
            if (_snapshots[i].ExtraDataSize >= 16)
            {
                continue;
            }

            res.Messages.Add($"{(repair ? "Repairing" : "ERROR")} snapshot table entry {i} is incomplete");
            if (repair)
            {
                res.CorruptionsFixed++;
                rewrite = true;
            }
            else
            {
                res.Corruptions++;
            }
        }

        return rewrite;
    }

    /// <summary>
    /// Reads the snapshot table an open for check left unread, as QEMU's check does: a table that cannot be read
    /// fails the check (<c>File too large</c> for QEMU's size limits); repairing, entries past the limits are dropped
    /// (the header's count is cut at once; the refcount check then finds what they leaked) and extra data past 1 KiB
    /// is cut. Returns whether the table must be rewritten.
    /// </summary>
    private bool ReadSnapshotTableForCheckLocked(CheckCounts res, bool repair)
    {
        _snapshotTableUnread = false;
        var count = (long)(uint)_header.SnapshotCount;
        var dropped = 0L;
        if (count > Qcow2Constants.MaxSnapshots && repair)
        {
            res.Messages.Add($"Discarding {count - Qcow2Constants.MaxSnapshots} overhanging snapshots");
            dropped = count - Qcow2Constants.MaxSnapshots;
            count = Qcow2Constants.MaxSnapshots;
        }

        try
        {
            Qcow2HeaderReader.ValidateSnapshotTable((ulong)_header.SnapshotsOffset, (ulong)count, _clusterSize, "snapshot table");
        }
        catch (InvalidImageException e)
        {
            res.CheckErrors++;
            var hint = count > Qcow2Constants.MaxSnapshots ? $"\nYou can force-remove all {count - Qcow2Constants.MaxSnapshots} overhanging snapshots with qemu-img check -r all" : "";
            ForgetSnapshotTable();
            var tooLarge = e.Message.EndsWith("too large", StringComparison.Ordinal);
            throw new CheckFailedException(IO.ErrnoText.Strerror(tooLarge ? ErrnoException.EFBIG : ErrnoException.EINVAL), res, $"ERROR {e.Message}{hint}");
        }

        var table = new SnapshotTableRepair();
        List<Qcow2Snapshot> snapshots;
        long length;
        try
        {
            snapshots = Qcow2Snapshot.ReadTable(_file, _header, count, repair ? table : null, out length);
        }
        catch (InvalidImageException e)
        {
            res.CheckErrors++;
            ForgetSnapshotTable();
            throw new CheckFailedException(IO.ErrnoText.Strerror(ErrnoException.EFBIG), res, $"ERROR failed to read the snapshot table: {e.Message}");
        }

        foreach (var message in table.Messages)
        {
            res.Messages.Add(message);
        }

        _snapshots.AddRange(snapshots);
        _snapshotTableLength = length;
        dropped += table.SnapshotsDropped;
        if (dropped > 0)
        {
            // As QEMU: the header stops counting the dropped entries before the refcounts are checked.
            _header = _header with { SnapshotCount = snapshots.Count };
            WriteHeaderLocked();
            _file.Flush();
            res.CorruptionsFixed += dropped;
        }

        res.CorruptionsFixed += table.ExtraDataDropped;
        return table.ExtraDataDropped > 0;
    }

    /// <summary>A snapshot table the check could not read counts as none, as QEMU then forgets it.</summary>
    private void ForgetSnapshotTable() => _header = _header with { SnapshotCount = 0, SnapshotsOffset = 0 };

    /// <summary>QEMU's <c>qcow2_check_refcounts</c>.</summary>
    private void CheckRefcountsLocked(CheckCounts res, CheckRepair fix)
    {
        var refcounts = _refcounts ?? new Qcow2Refcounts(_file, _header, DefaultRefcountCacheBytes, (_, _) => { });
        res.TotalClusters = (Length + _clusterSize - 1) >> _clusterBits;
        var refs = new Qcow2ReferenceArray((_file.Length + _clusterSize - 1) >> _clusterBits, refcounts.Max);
        var rebuild = false;
        CalculateReferences(res, fix, ref rebuild, refs);
        _checkProgress?.Report(new OperationProgress(_checkTotal, _checkTotal));
        _checkProgress = null;

        // Without a rebuild but with something to fix, the comparison runs again, repairing this time.
        var before = res.CopyCounts();
        CompareRefcounts(res, refcounts, CheckRepair.None, ref rebuild, out var highest, refs);
        _checkCancellation.ThrowIfCancellationRequested();
        if (rebuild && (fix & CheckRepair.Errors) != 0)
        {
            var old = res.CopyCounts();
            res.Messages.Add("Rebuilding refcount structure");
            RebuildRefcountStructureLocked(refs);
            _checkCancellation.ThrowIfCancellationRequested();
            refcounts = _refcounts!;
            res.Corruptions = 0;
            res.Leaks = 0;
            rebuild = false;
            refs = new Qcow2ReferenceArray((_file.Length + _clusterSize - 1) >> _clusterBits, refcounts.Max);
            var recount = res.CopyCounts();
            recount.AllocatedClusters = recount.CompressedClusters = recount.FragmentedClusters = 0;
            var scratch = new CheckCounts();
            scratch.SetCounts(recount);
            CalculateReferences(scratch, CheckRepair.None, ref rebuild, refs);
            res.SetCounts(scratch);
            res.Messages.AddRange(scratch.Messages); // the recount reports what it finds again, as QEMU's does
            long freshLeaks = 0;
            if ((fix & CheckRepair.Leaks) != 0)
            {
                // The old structures are leaked now; free them. Leaks left over were made by the rebuild itself.
                var saved = res.CopyCounts();
                var leakPass = new CheckCounts();
                CompareRefcounts(leakPass, refcounts, CheckRepair.Leaks, ref rebuild, out highest, refs);
                if (rebuild)
                {
                    res.Messages.Add("ERROR rebuilt refcount structure is still broken");
                }

                res.Messages.AddRange(leakPass.Messages);
                freshLeaks = leakPass.Leaks;
                res.SetCounts(saved);
            }

            if (res.Corruptions < old.Corruptions)
            {
                res.CorruptionsFixed += old.Corruptions - res.Corruptions;
            }

            if (res.Leaks < old.Leaks)
            {
                res.LeaksFixed += old.Leaks - res.Leaks;
            }

            res.Leaks += freshLeaks;
        }
        else if (fix != CheckRepair.None)
        {
            if (rebuild)
            {
                res.Messages.Add("ERROR need to rebuild refcount structures");
                res.CheckErrors++;
                throw new CheckFailedException("Input/output error", res);
            }

            if (res.Leaks != 0 || res.Corruptions != 0)
            {
                res.SetCounts(before);
                CompareRefcounts(res, refcounts, fix, ref rebuild, out highest, refs);
            }
        }

        refcounts.WriteDirty();
        _file.Flush();
        CheckCopiedFlags(res, refcounts, fix, mayCancel: res.LeaksFixed == 0 && res.CorruptionsFixed == 0);
        res.ImageEndOffset = (highest + 1) << _clusterBits;
    }

    /// <summary>QEMU's <c>compare_refcounts</c>: stored refcount against counted references, cluster by cluster.</summary>
    private void CompareRefcounts(CheckCounts res, Qcow2Refcounts refcounts, CheckRepair fix, ref bool rebuild, out long highest, Qcow2ReferenceArray refs)
    {
        highest = 0;
        for (long i = 0; i < refs.Count; i++)
        {
            ulong stored;
            try
            {
                stored = refcounts.Get(i);
            }
            catch (InvalidImageException)
            {
                res.Messages.Add($"Can't get refcount for cluster {i}: Input/output error");
                res.CheckErrors++;
                continue;
            }

            var counted = refs[i];
            if (stored > 0 || counted > 0)
            {
                highest = i;
            }

            if (stored == counted)
            {
                continue;
            }

            var repairLeak = stored > counted && stored != 0 && (fix & CheckRepair.Leaks) != 0;
            var repairError = stored < counted && stored != 0 && (fix & CheckRepair.Errors) != 0;
            if (stored == 0)
            {
                rebuild = true;
            }

            var label = repairLeak || repairError ? "Repairing" : stored < counted ? "ERROR" : "Leaked";
            res.Messages.Add($"{label} cluster {i} refcount={stored} reference={counted}");
            if (repairLeak)
            {
                refcounts.Add(i, -(long)(stored - counted));
                res.LeaksFixed++;
                if (counted == 0)
                {
                    // QEMU frees a leaked cluster with a discard that always passes through: its bytes go (a hole).
                    DiscardLeakedClusterLocked(i);
                }

                continue;
            }

            if (repairError)
            {
                refcounts.Add(i, (long)(counted - stored));
                res.CorruptionsFixed++;
                continue;
            }

            if (stored < counted)
            {
                res.Corruptions++;
            }
            else
            {
                res.Leaks++;
            }
        }
    }

    /// <summary>Punches out a freed leaked cluster that lies within the file (a discard never grows the file).</summary>
    private void DiscardLeakedClusterLocked(long cluster)
    {
        var start = cluster << _clusterBits;
        var end = Math.Min(start + _clusterSize, _file.Length);
        if (end > start)
        {
            _file.WriteZeroes(start, end - start, mayUnmap: true);
        }
    }

    /// <summary>QEMU's <c>check_oflag_copied</c>: COPIED must be set exactly where the refcount is 1.</summary>
    private void CheckCopiedFlags(CheckCounts res, Qcow2Refcounts refcounts, CheckRepair fix, bool mayCancel)
    {
        var repair = (fix & CheckRepair.Errors) != 0
            || ((fix & CheckRepair.Leaks) != 0 && res.CheckErrors == 0 && res.Corruptions == 0 && res.Leaks == 0);
        var table = new byte[_clusterSize];
        var raw = new byte[8];
        for (var i = 0; i < _l1.Length; i++)
        {
            if (mayCancel)
            {
                _checkCancellation.ThrowIfCancellationRequested();
            }

            var l1Entry = _l1[i];
            var l2Offset = (long)(l1Entry & Qcow2Constants.L1OffsetMask);
            if (l2Offset == 0 || !TryGetRefcount(refcounts, l2Offset, out var refcount))
            {
                continue;
            }

            if ((refcount == 1) != ((l1Entry & Qcow2Constants.FlagCopied) != 0))
            {
                res.Corruptions++;
                res.Messages.Add($"{(repair ? "Repairing" : "ERROR")} OFLAG_COPIED L2 cluster: l1_index={i} l1_entry={l1Entry:x} refcount={refcount}");
                if (repair)
                {
                    _l1[i] = refcount == 1 ? l1Entry | Qcow2Constants.FlagCopied : l1Entry & ~Qcow2Constants.FlagCopied;
                    BinaryPrimitives.WriteUInt64BigEndian(raw, _l1[i]);
                    _file.Write(_header.L1TableOffset + (i * 8L), raw);
                    _file.Flush();
                    res.Corruptions--;
                    res.CorruptionsFixed++;
                }
            }

            _file.Read(l2Offset, table);
            var dirty = 0;
            for (var j = 0; j < L2Entries; j++)
            {
                var entry = ReadEntry(table, j);
                var host = (long)(entry & Qcow2Constants.L2OffsetMask);
                if ((entry & Qcow2Constants.FlagCompressed) != 0 || host == 0)
                {
                    continue;
                }

                // Data file clusters are not counted: QEMU takes each as referenced once.
                if (HasDataFile)
                {
                    refcount = 1;
                }
                else if (!TryGetRefcount(refcounts, host, out refcount))
                {
                    continue;
                }

                if ((refcount == 1) != ((entry & Qcow2Constants.FlagCopied) != 0))
                {
                    res.Corruptions++;
                    res.Messages.Add($"{(repair ? "Repairing" : "ERROR")} OFLAG_COPIED data cluster: l2_entry={entry:x} refcount={refcount}");
                    if (repair)
                    {
                        var fixedEntry = refcount == 1 ? entry | Qcow2Constants.FlagCopied : entry & ~Qcow2Constants.FlagCopied;
                        BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(j * _l2EntryBytes), fixedEntry);
                        dirty++;
                    }
                }
            }

            if (dirty > 0)
            {
                _l2Cache.Remove(l2Offset);
                _file.Write(l2Offset, table);
                _file.Flush();
                res.Corruptions -= dirty;
                res.CorruptionsFixed += dirty;
            }
        }
    }

    private bool TryGetRefcount(Qcow2Refcounts refcounts, long offset, out ulong refcount)
    {
        try
        {
            refcount = refcounts.Get(offset >> _clusterBits);
            return true;
        }
        catch (InvalidImageException)
        {
            refcount = 0;
            return false;
        }
    }
}
