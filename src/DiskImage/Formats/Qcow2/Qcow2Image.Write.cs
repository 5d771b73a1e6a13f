using System.Buffers;
using System.Buffers.Binary;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckDriverPresent();
        CheckWritable();
        CheckRange(offset, data.Length);
        CheckDataAccess();
        MarkBitmapsDirty(offset, data.Length);
        try
        {
            WriteGuest(offset, data);
        }
        catch (Qcow2L2EntryException e)
        {
            SignalEntryCorruption(e.WriteEvent);
            throw;
        }
    }

    /// <summary>Writes guest bytes (virtual disk or VM state area) once the range has been checked.</summary>
    private void WriteGuest(long offset, ReadOnlySpan<byte> data)
    {
        var cursor = new HostRunCursor(offset, offset + data.Length);
        try
        {
            WriteGuestPieces(offset, data, cursor);
        }
        finally
        {
            if (cursor.ReservedCount > 0)
            {
                lock (_lock)
                {
                    ReleaseReservedLocked(cursor);
                }
            }
        }
    }

    /// <summary>Writes the request piece by piece: in place where this image owns the clusters, else into new ones.</summary>
    private void WriteGuestPieces(long offset, ReadOnlySpan<byte> data, HostRunCursor cursor)
    {
        var done = 0;
        while (done < data.Length)
        {
            var position = offset + done;
            Qcow2Run run;
            WholeClusterReservation reservation;
            InPlaceRun inPlace;
            lock (_lock)
            {
                BeginPieceLocked(cursor, position);
                run = LookupLocked(position, data.Length - done);
                if (TryInPlaceRunLocked(position, data.Length - done, out inPlace))
                {
                    reservation = default;
                    NoteHostEndLocked(cursor, inPlace.HostOffset + inPlace.Bytes);
                }
                else if (run.Kind == Qcow2ClusterKind.Data && run.Copied)
                {
                    reservation = default;
                    NoteHostEndLocked(cursor, run.HostOffset + run.Length);
                }
                else if (!TryReserveWholeClustersLocked(position, data.Length - done, cursor, out reservation))
                {
                    done += WriteAllocatingLocked(position, data[done..], cursor);
                    continue;
                }
            }

            if (inPlace.Bytes > 0)
            {
                // Owned clusters, some of them preallocated zero clusters, written as one request as QEMU does;
                // the zero flags are cleared once the data is on the file.
                CheckNoMetadataOverlap(inPlace.HostOffset, inPlace.Bytes, "guest data");
                WriteHostData(position, inPlace.HostOffset, data.Slice(done, inPlace.Bytes));
                lock (_lock)
                {
                    ClearZeroFlagsLocked(inPlace);
                }

                done += inPlace.Bytes;
                continue;
            }

            if (reservation.Count > 0)
            {
                // Fresh clusters are filled outside the lock and linked into the L2 table afterwards,
                // so parallel writers of new data do not queue behind each other's I/O.
                var bytes = reservation.Count << _clusterBits;
                try
                {
                    WriteHostData(position, reservation.HostOffset, data.Slice(done, bytes));
                }
                catch
                {
                    lock (_lock)
                    {
                        AbortAllocationLocked(reservation.HostOffset, reservation.Count);
                    }

                    throw;
                }

                lock (_lock)
                {
                    CommitWholeClustersLocked(reservation);
                }

                done += bytes;
                continue;
            }

            // Already owned by this image alone: data goes in place, outside the metadata lock.
            CheckNoMetadataOverlap(run.HostOffset, run.Length, "guest data");
            WriteHostData(position, run.HostOffset, data.Slice(done, (int)run.Length));
            done += (int)run.Length;
        }
    }

    /// <summary>Writes guest data at <paramref name="guestOffset"/> to its host clusters (through the cipher, whose IV may depend on either offset).</summary>
    private void WriteHostData(long guestOffset, long hostOffset, ReadOnlySpan<byte> data, BlkdebugEvent blkdebugEvent = BlkdebugEvent.WriteAio)
    {
        BlkdebugStorage.Raise(_file, blkdebugEvent);
        if (Cipher is null)
        {
            _data.Write(hostOffset, data);
            return;
        }

        WriteEncrypted(guestOffset, hostOffset, data);
    }

    /// <summary>
    /// Writes the part of <paramref name="data"/> that falls in the cluster at <paramref name="guestOffset"/>
    /// (or in a run of whole unallocated clusters), allocating and copying on write. Returns bytes consumed.
    /// </summary>
    private int WriteAllocatingLocked(long guestOffset, ReadOnlySpan<byte> data, HostRunCursor cursor)
    {
        MarkDirtyForLazyRefcountsLocked();
        var clusterIndex = guestOffset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & (L2Entries - 1));
        var inCluster = (int)(guestOffset & (_clusterSize - 1));
        var l2Offset = L2TableForWriteLocked(l1Index);
        var table = _l2Cache.Get(l2Offset);
        var entry = ReadEntry(table, l2Index);
        var bitmap = ReadBitmap(table, l2Index);

        if (inCluster == 0 && data.Length >= _clusterSize && IsEmptyForWholeWrite(entry))
        {
            return WriteWholeClustersLocked(guestOffset, l2Offset, l2Index, data, cursor);
        }

        var take = Math.Min(data.Length, _clusterSize - inCluster);
        var clusterStart = guestOffset - inCluster;
        var host = (long)(entry & Qcow2Constants.L2OffsetMask);
        var compressed = (entry & Qcow2Constants.FlagCompressed) != 0;
        var copied = (entry & Qcow2Constants.FlagCopied) != 0;
        var reuse = !compressed && (host != 0 || IsDataFileClusterZero(entry)) && copied;

        int regionStart, regionEnd;
        ulong newBitmap;
        if (!_extendedL2)
        {
            regionStart = 0;
            regionEnd = _clusterSize;
            newBitmap = 0;
        }
        else
        {
            var firstSub = inCluster >> _subclusterBits;
            var lastSub = (inCluster + take - 1) >> _subclusterBits;
            var touched = (uint)(((1UL << (lastSub + 1)) - 1) & ~((1UL << firstSub) - 1));
            var allocated = (uint)bitmap;
            var zero = (uint)(bitmap >> 32);
            if (compressed)
            {
                regionStart = 0;
                regionEnd = _clusterSize;
                allocated = uint.MaxValue;
                zero = 0;
            }
            else if (host != 0 && !reuse)
            {
                // Shared with a snapshot: the cluster moves. As in QEMU, what is copied spans the written
                // subclusters and every allocated one; all of that span becomes allocated in the new cluster
                // (zero or unallocated subclusters inside it included), the states outside it stay.
                if (allocated != 0)
                {
                    firstSub = Math.Min(firstSub, System.Numerics.BitOperations.TrailingZeroCount(allocated));
                    lastSub = Math.Max(lastSub, 31 - System.Numerics.BitOperations.LeadingZeroCount(allocated));
                    touched = (uint)(((1UL << (lastSub + 1)) - 1) & ~((1UL << firstSub) - 1));
                }

                regionStart = firstSub << _subclusterBits;
                regionEnd = (lastSub + 1) << _subclusterBits;
            }
            else
            {
                regionStart = firstSub << _subclusterBits;
                regionEnd = (lastSub + 1) << _subclusterBits;
            }

            allocated |= touched;
            zero &= ~touched;
            newBitmap = ((ulong)zero << 32) | allocated;
        }

        long newHost;
        if (reuse)
        {
            newHost = host;
            NoteHostEndLocked(cursor, host + _clusterSize);
        }
        else
        {
            newHost = TakeDataClustersLocked(cursor, clusterIndex, out _);
            ConsumeReservedLocked(cursor, newHost, 1);
        }

        var regionLength = regionEnd - regionStart;
        var buffer = ArrayPool<byte>.Shared.Rent(regionLength);
        try
        {
            var region = buffer.AsSpan(0, regionLength);
            var copyOnWrite = inCluster != regionStart || take != regionLength;

            // QEMU zeroes a fresh cluster whose copied parts read as zeroes and writes only the data (cluster_alloc_space,
            // then write_aio); other partial writes read and write the copied parts with the data (cow_read, cow_write).
            var zeroCopy = copyOnWrite && !reuse && !compressed && host == 0 && CopiedPartsReadAsZeroLocked(clusterStart);
            if (copyOnWrite)
            {
                BlkdebugStorage.Raise(_file, zeroCopy ? BlkdebugEvent.ClusterAllocSpace : BlkdebugEvent.CowRead);
                ReadRegionForCopyLocked(clusterStart + regionStart, region, entry, reuse);
            }

            data[..take].CopyTo(region[(inCluster - regionStart)..]);
            if (copyOnWrite && !zeroCopy)
            {
                // QEMU writes the guest data merged with the copied parts: write_aio, then cow_write for the one write.
                BlkdebugStorage.Raise(_file, BlkdebugEvent.WriteAio);
            }

            WriteHostData(clusterStart + regionStart, newHost + regionStart, region, copyOnWrite && !zeroCopy ? BlkdebugEvent.CowWrite : BlkdebugEvent.WriteAio);
        }
        catch when (!reuse)
        {
            AbortAllocationLocked(newHost, 1);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        table = _l2Cache.Get(l2Offset);
        SetEntryLocked(table, l2Offset, l2Index, (ulong)newHost | Qcow2Constants.FlagCopied, newBitmap);
        if (!reuse && newHost != host)
        {
            FreeEntryLocked(entry);
        }

        return take;
    }

    /// <summary>Whether the backing chain under a cluster this image does not allocate reads as zeroes by its allocation status alone.</summary>
    private bool CopiedPartsReadAsZeroLocked(long clusterStart)
    {
        var backing = _backing;
        if (backing is null || clusterStart >= backing.Length)
        {
            return true;
        }

        var extents = backing.GetExtents(clusterStart, Math.Min(_clusterSize, backing.Length - clusterStart));
        return extents.All(e => e.Kind == IO.ExtentKind.Zero || (e.Kind == IO.ExtentKind.Unallocated && backing.Backing is null));
    }

    /// <summary>Current guest content of a region that is about to be copied into a (new or reused) host cluster.</summary>
    private void ReadRegionForCopyLocked(long guestOffset, Span<byte> region, ulong entry, bool reuse)
    {
        if (reuse && !_extendedL2 && (entry & Qcow2Constants.FlagZero) != 0)
        {
            region.Clear(); // preallocated zero cluster
            return;
        }

        ReadCore(guestOffset, region);
    }

    /// <summary>A host-contiguous run of clusters this image owns, with the L2 indices of the preallocated zero clusters in it.</summary>
    private readonly record struct InPlaceRun(long L2Offset, long HostOffset, int Bytes, List<int>? ZeroIndices);

    /// <summary>
    /// QEMU writes in place over clusters it owns alone (COPIED), preallocated zero clusters included when the write
    /// covers them whole, as one request while their host clusters are contiguous. True when such a run at
    /// <paramref name="guestOffset"/> holds at least one zero cluster; plain data runs take the usual path.
    /// </summary>
    private bool TryInPlaceRunLocked(long guestOffset, int length, out InPlaceRun run)
    {
        run = default;
        var clusterIndex = guestOffset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        if (Cipher is not null || _extendedL2 || l1Index >= _l1.Length || (_l1[l1Index] & Qcow2Constants.FlagCopied) == 0)
        {
            return false;
        }

        var l2Offset = L2OffsetOf(l1Index);
        if (l2Offset == 0)
        {
            return false;
        }

        var table = _l2Cache.Get(l2Offset);
        var inCluster = (int)(guestOffset & (_clusterSize - 1));
        long host = -1;
        var bytes = 0;
        List<int>? zeros = null;
        for (var index = (int)(clusterIndex & (L2Entries - 1)); index < L2Entries && bytes < length; index++)
        {
            var entry = ReadEntry(table, index);
            var clusterHost = (long)(entry & Qcow2Constants.L2OffsetMask);
            var start = bytes == 0 ? inCluster : 0;
            var take = Math.Min(_clusterSize - start, length - bytes);
            var zero = (entry & Qcow2Constants.FlagZero) != 0;
            if ((entry & Qcow2Constants.FlagCompressed) != 0 || (entry & Qcow2Constants.FlagCopied) == 0 || clusterHost == 0
                || (clusterHost & (_clusterSize - 1)) != 0 || (zero && take != _clusterSize)
                || (host >= 0 && clusterHost != host + bytes))
            {
                break;
            }

            if (host < 0)
            {
                host = clusterHost + start;
            }

            if (zero)
            {
                (zeros ??= []).Add(index);
            }

            bytes += take;
        }

        if (zeros is null)
        {
            return false;
        }

        MarkDirtyForLazyRefcountsLocked();
        run = new InPlaceRun(l2Offset, host, bytes, zeros);
        return true;
    }

    /// <summary>The zero clusters of a written in-place run now hold their data.</summary>
    private void ClearZeroFlagsLocked(InPlaceRun run)
    {
        var table = _l2Cache.Get(run.L2Offset);
        foreach (var index in run.ZeroIndices!)
        {
            var entry = ReadEntry(table, index);
            if ((entry & Qcow2Constants.FlagZero) != 0)
            {
                SetEntryLocked(table, run.L2Offset, index, (entry & Qcow2Constants.L2OffsetMask) | Qcow2Constants.FlagCopied, 0);
                table = _l2Cache.Get(run.L2Offset);
            }
        }
    }

    private bool IsEmptyForWholeWrite(ulong entry) =>
        (entry & Qcow2Constants.FlagCompressed) == 0 && (entry & Qcow2Constants.L2OffsetMask) == 0;

    /// <summary>Host clusters taken for a run of whole guest clusters that are linked once their data is written.</summary>
    private readonly record struct WholeClusterReservation(long L2Offset, int L2Index, int Count, long HostOffset);

    /// <summary>
    /// Takes a contiguous host run for the whole clusters at <paramref name="guestOffset"/> that own no host
    /// cluster yet (up to <paramref name="length"/> bytes, within one L2 table). False when the first cluster does not qualify.
    /// </summary>
    private bool TryReserveWholeClustersLocked(long guestOffset, int length, HostRunCursor cursor, out WholeClusterReservation reservation)
    {
        reservation = default;
        if ((guestOffset & (_clusterSize - 1)) != 0 || length < _clusterSize)
        {
            return false;
        }

        var clusterIndex = guestOffset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & (L2Entries - 1));
        if (l1Index < _l1.Length && L2OffsetOf(l1Index) != 0)
        {
            var existing = _l2Cache.Get(L2OffsetOf(l1Index));
            if (!IsEmptyForWholeWrite(ReadEntry(existing, l2Index)))
            {
                return false;
            }
        }

        MarkDirtyForLazyRefcountsLocked();
        var l2Offset = L2TableForWriteLocked(l1Index);
        var table = _l2Cache.Get(l2Offset);
        if (!IsEmptyForWholeWrite(ReadEntry(table, l2Index)))
        {
            return false;
        }

        var count = 1;
        while (l2Index + count < L2Entries && (long)(count + 1) * _clusterSize <= length && count < 4096
               && IsEmptyForWholeWrite(ReadEntry(table, l2Index + count)))
        {
            count++;
        }

        var host = TakeDataClustersLocked(cursor, clusterIndex, out var available);
        count = Math.Min(count, available);
        ConsumeReservedLocked(cursor, host, count);
        reservation = new WholeClusterReservation(l2Offset, l2Index, count, host);
        return true;
    }

    /// <summary>Points the L2 entries at reserved clusters whose data is written; anything they held meanwhile is released.</summary>
    private void CommitWholeClustersLocked(WholeClusterReservation reservation)
    {
        var table = _l2Cache.Get(reservation.L2Offset);
        var allAllocated = _extendedL2 ? Qcow2Constants.SubclusterAllocMask : 0;
        for (var i = 0; i < reservation.Count; i++)
        {
            var old = ReadEntry(table, reservation.L2Index + i);
            SetEntryLocked(table, reservation.L2Offset, reservation.L2Index + i,
                (ulong)(reservation.HostOffset + ((long)i << _clusterBits)) | Qcow2Constants.FlagCopied, allAllocated);
            FreeEntryLocked(old);
            table = _l2Cache.Get(reservation.L2Offset);
        }
    }

    /// <summary>Allocates a contiguous host run for whole clusters that own no host cluster yet and writes them in one go.</summary>
    private int WriteWholeClustersLocked(long guestOffset, long l2Offset, int l2Index, ReadOnlySpan<byte> data, HostRunCursor cursor)
    {
        var table = _l2Cache.Get(l2Offset);
        var count = 1;
        while (l2Index + count < L2Entries && (long)(count + 1) * _clusterSize <= data.Length && count < 4096
               && IsEmptyForWholeWrite(ReadEntry(table, l2Index + count)))
        {
            count++;
        }

        var host = TakeDataClustersLocked(cursor, guestOffset >> _clusterBits, out var available);
        count = Math.Min(count, available);
        ConsumeReservedLocked(cursor, host, count);
        var reservation = new WholeClusterReservation(l2Offset, l2Index, count, host);
        var bytes = count * _clusterSize;
        try
        {
            WriteHostData(guestOffset, reservation.HostOffset, data[..bytes]);
        }
        catch
        {
            AbortAllocationLocked(reservation.HostOffset, count);
            throw;
        }

        CommitWholeClustersLocked(reservation);
        return bytes;
    }

    /// <summary>
    /// Gives back clusters allocated for data that could not be written, before anything points at them
    /// (QEMU's <c>qcow2_alloc_cluster_abort</c>): their refcounts return to zero in the cache, so a failed
    /// write (no space, a full raw window) leaves the refcount blocks as they were once flushed.
    /// </summary>
    private void AbortAllocationLocked(long hostOffset, int count)
    {
        if (HasDataFile)
        {
            return; // the data file's clusters are not counted
        }

        var first = hostOffset >> _clusterBits;
        for (var i = 0; i < count; i++)
        {
            _refcounts!.Add(first + i, -1);
        }
    }

    private void SetEntryLocked(byte[] table, long l2Offset, int index, ulong entry, ulong bitmap)
    {
        BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(index * _l2EntryBytes), entry);
        if (_extendedL2)
        {
            BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan((index * 16) + 8), bitmap);
        }

        _l2Cache.MarkDirty(l2Offset);
    }

    /// <summary>
    /// The L2 table for <paramref name="l1Index"/>, ready to be modified: created when missing, copied when
    /// shared with a snapshot (COPIED clear).
    /// </summary>
    private long L2TableForWriteLocked(long l1Index)
    {
        var old = L2OffsetOf(l1Index);
        if (old != 0 && (_l1[l1Index] & Qcow2Constants.FlagCopied) != 0)
        {
            CheckNoMetadataOverlap(old, _clusterSize, "an L2 table");
            return old;
        }

        if (_pendingFrees.Count > 0)
        {
            // Only then: the search reads refcount blocks, which QEMU loads after the allocation's blkdebug event.
            ApplyFreesBelowLocked(_refcounts!.FindFree(1) + 1);
        }

        var fromStart = _refcounts!.SearchStartsAtClusterZero;
        var fresh = _refcounts.Allocate(1);
        if (fromStart && _refcounts.Get(0) == 0)
        {
            // The header's refcount reads 0, so QEMU's allocator would have placed the table over the header.
            _refcounts.Release(fresh, 1);
            SignalCorruptionLocked("Preventing invalid allocation of L2 table at offset 0");
        }

        if (RefcountsAreLazyLocked)
        {
            // As QEMU, a new L2 table's refcount reaches the file at once even when refcounts are lazy.
            _refcounts.WriteDirty();
        }

        BlkdebugStorage.Raise(_file, BlkdebugEvent.L2AllocWrite);
        var table = _l2Cache.CreateZeroed(fresh);
        if (old != 0)
        {
            _l2Cache.Get(old).CopyTo(table, 0);
            table = _l2Cache.Get(fresh);
            _pendingFrees.Add(old >> _clusterBits);
        }

        _l1[l1Index] = (ulong)fresh | Qcow2Constants.FlagCopied;
        MarkL1Dirty((int)l1Index);
        return fresh;
    }

    private void MarkL1Dirty(int index)
    {
        _l1DirtyLow = Math.Min(_l1DirtyLow, index);
        _l1DirtyHigh = Math.Max(_l1DirtyHigh, index);
    }

    /// <summary>
    /// Host clusters for <paramref name="count"/> guest clusters from <paramref name="guestCluster"/> on: taken from the
    /// image file's free space, or, with an external data file, the same offsets in the data file (QEMU maps them one to
    /// one and does not count them).
    /// </summary>
    private long AllocateDataClustersLocked(long guestCluster, int count) =>
        HasDataFile ? guestCluster << _clusterBits : _refcounts!.Allocate(count);

    /// <summary>Releases the host clusters an L2 entry held; the refcounts drop only after the L2 change is on disk.</summary>
    private void FreeEntryLocked(ulong entry)
    {
        if (HasDataFile)
        {
            // Data file clusters are not counted; QEMU passes the discard on to the data file.
            var mapped = (long)(entry & Qcow2Constants.L2OffsetMask);
            if ((entry & Qcow2Constants.FlagCompressed) == 0 && (mapped != 0 || IsDataFileClusterZero(entry)) && DataFileOpen)
            {
                _data.WriteZeroes(mapped, _clusterSize, mayUnmap: true);
            }

            return;
        }

        if ((entry & Qcow2Constants.FlagCompressed) != 0)
        {
            var (offset, length) = CompressedSpan(entry);
            for (var cluster = offset >> _clusterBits; cluster <= (offset + length - 1) >> _clusterBits; cluster++)
            {
                _pendingFrees.Add(cluster);
            }

            return;
        }

        var host = (long)(entry & Qcow2Constants.L2OffsetMask);
        if (host != 0)
        {
            _pendingFrees.Add(host >> _clusterBits);
        }

        if (_pendingFrees.Count > 8192)
        {
            FlushMetadataLocked();
        }
    }

    private void MarkDirtyForLazyRefcountsLocked()
    {
        if (!_lazyRefcounts || _header.IsDirty)
        {
            return;
        }

        _header = _header with { IncompatibleFeatures = _header.IncompatibleFeatures | Qcow2Constants.IncompatibleDirty };
        WriteHeaderLocked();
        _file.Flush();
        _dirtyBitSetHere = true;
    }

    private void CheckWritable()
    {
        if (!_file.CanWrite)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }

        if (_markedCorrupt)
        {
            throw new ImageCorruptException("qcow2: Image is corrupt; cannot be written");
        }

        if (CheckInactiveL2Overlap)
        {
            RefuseUncheckableSnapshotsLocked();
        }
    }

    /// <summary>
    /// QEMU's <c>overlap-check.inactive-l2</c>: every write first makes sure it does not hit a snapshot's L2 tables,
    /// which needs every snapshot's L1 table; one that cannot be read (bad offset or size) makes every write fail
    /// with the table check's errno, before anything is written.
    /// </summary>
    internal bool CheckInactiveL2Overlap { get; set; }

    /// <summary>Set once a write was refused by <see cref="CheckInactiveL2Overlap"/>: the errno QEMU's close reports.</summary>
    internal int? InactiveL2RefusalErrno { get; private set; }

    private void RefuseUncheckableSnapshotsLocked()
    {
        foreach (var snapshot in _snapshots)
        {
            if (snapshot.L1Problem(_clusterSize) is { } problem)
            {
                InactiveL2RefusalErrno = problem.Errno;
                throw new ErrnoException(problem.Errno, ErrnoException.Text(problem.Errno));
            }
        }
    }

    /// <summary>
    /// Writes metadata in crash-safe order: refcount increases, then (after a sync) L2 tables, then
    /// (after a sync) the L1 table, and only then the refcount decreases of clusters no longer referenced.
    /// </summary>
    /// <summary>
    /// Lazy refcounts in force: the image is marked dirty, so refcount updates may stay in memory until the image is
    /// closed (or the metadata is flushed for an operation that needs them); a crash is repaired on the next open.
    /// </summary>
    private bool RefcountsAreLazyLocked => _lazyRefcounts && _header.IsDirty && _dirtyBitSetHere;

    /// <summary>
    /// A guest flush: as <see cref="FlushMetadataLocked"/>, except that under lazy refcounts the refcount updates (and
    /// the frees waiting for a flush) stay in memory, as QEMU leaves them in its cache.
    /// </summary>
    private void FlushForGuestLocked()
    {
        if (_refcounts is null || !RefcountsAreLazyLocked)
        {
            FlushMetadataLocked();
            return;
        }

        FlushDataFile();
        _l2Cache.WriteDirty();
        if (_l1DirtyHigh >= 0)
        {
            _file.Flush();
            WriteDirtyL1Locked();
        }

        _file.Flush();
    }

    /// <summary>
    /// Data written to an external data file reaches stable storage before any L2 table that points at it, as the
    /// image file's own data does through the flush after the refcounts.
    /// </summary>
    private void FlushDataFile()
    {
        if (DataFileOpen)
        {
            _data.Flush();
        }
    }

    private void FlushMetadataLocked()
    {
        if (_refcounts is null)
        {
            return;
        }

        _refcounts.WriteDirty();
        _file.Flush();
        FlushDataFile();
        _l2Cache.WriteDirty();
        if (_l1DirtyHigh >= 0)
        {
            _file.Flush();
            WriteDirtyL1Locked();
        }

        _file.Flush();
        if (_pendingFrees.Count > 0)
        {
            ApplyPendingFreesLocked();
            _refcounts.WriteDirty();
            _file.Flush();
        }
    }

    /// <summary>
    /// Hands the cached metadata to the host in the same order as <see cref="FlushMetadataLocked"/> (refcount
    /// increases, L2 tables, L1 table) without waiting for stable storage: a completed write then survives the
    /// process being killed, as with QEMU, at the cost of no fsync. Refcount decreases stay pending.
    /// </summary>
    internal void WriteMetadataToHost()
    {
        if (!_file.CanWrite)
        {
            return;
        }

        lock (_lock)
        {
            if (_refcounts is null)
            {
                return;
            }

            if (!RefcountsAreLazyLocked)
            {
                _refcounts.WriteDirty();
            }

            _l2Cache.WriteDirty();
            WriteDirtyL1Locked();
        }
    }

    private void WriteDirtyL1Locked()
    {
        if (_l1DirtyHigh >= 0)
        {
            var count = _l1DirtyHigh - _l1DirtyLow + 1;
            var raw = ArrayPool<byte>.Shared.Rent(count * 8);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), _l1[_l1DirtyLow + i]);
                }

                BlkdebugStorage.Raise(_file, BlkdebugEvent.L1Update);
                _file.Write(_header.L1TableOffset + (_l1DirtyLow * 8L), raw.AsSpan(0, count * 8));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
            }

            _l1DirtyLow = int.MaxValue;
            _l1DirtyHigh = -1;
        }
    }

    private void ApplyPendingFreesLocked()
    {
        // Clusters that reach refcount 0 are discarded; neighbours freed one after another (a bitmap's data, a
        // table) go in one call rather than one per cluster.
        long runStart = -1, runEnd = -1;
        foreach (var cluster in _pendingFrees)
        {
            _refcounts!.Add(cluster, -1);
            if (_refcounts.Get(cluster) != 0)
            {
                continue;
            }

            _l2Cache.Remove(cluster << _clusterBits);
            if (_freesKeepingBytes.Contains(cluster))
            {
                continue;
            }

            if (cluster != runEnd)
            {
                DiscardClustersLocked(runStart, runEnd);
                runStart = cluster;
            }

            runEnd = cluster + 1;
        }

        DiscardClustersLocked(runStart, runEnd);
        _pendingFrees.Clear();
        _freesKeepingBytes.Clear();
        _freeByteOffset = 0;
    }

    private void DiscardClustersLocked(long start, long end)
    {
        if (start >= 0 && end > start)
        {
            _file.WriteZeroes(start << _clusterBits, (end - start) << _clusterBits, mayUnmap: true);
        }
    }

    private void WriteHeaderLocked() => _file.Write(0, _header.Serialize());

    /// <summary>Loads the refcount structures, repairs a dirty image and clears unknown autoclear bits before any write.</summary>
    private void PrepareForWriting()
    {
        lock (_lock)
        {
            _refcounts = new Qcow2Refcounts(_file, _header, DefaultRefcountCacheBytes, OnRefcountTableMoved) { CorruptionFound = ReportCorruptionLocked };
            _l2Cache.BeforeDirtyWrite = () =>
            {
                _refcounts.WriteDirty();
                _file.Flush();
                FlushDataFile();
            };
            if (_header.IsDirty && !_options.ForRepair)
            {
                RepairDirtyImageLocked();
            }

            // Unknown autoclear bits are cleared, as QEMU does; a bitmaps extension without its bit is stale and dropped.
            var keep = _header.AutoclearFeatures & (Qcow2Constants.AutoclearDataFileRaw | Qcow2Constants.AutoclearBitmaps);
            var stale = (keep & Qcow2Constants.AutoclearBitmaps) == 0 && _header.FindExtension(Qcow2Constants.ExtensionBitmaps) is not null;
            if (_header.AutoclearFeatures != keep || stale)
            {
                _header = _header with { AutoclearFeatures = keep };
                if (stale)
                {
                    _header = _header.WithExtension(Qcow2Constants.ExtensionBitmaps, null);
                }

                WriteHeaderLocked();
                _file.Flush();
            }

            StartTrackingBitmapsLocked();
        }
    }

    private void OnRefcountTableMoved(long offset, int clusters)
    {
        var old = _header;
        _header = _header with { RefcountTableOffset = offset, RefcountTableClusters = clusters };
        try
        {
            WriteHeaderLocked();
            _file.Flush();
        }
        catch
        {
            _header = old; // the old table stays in use
            throw;
        }
    }
}
