using System.Text;

namespace DiskImage.Formats.Qcow2;

/// <summary>Header changes of the backing chain (rebase) and emptying an overlay (commit).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Rewrites the backing file name and format in the header (null name: no backing file). Other
    /// extensions, unknown ones included, are kept; the whole first cluster is written at once.
    /// </summary>
    internal void ChangeBackingFile(string? backingFile, string? backingFormat)
    {
        CheckWritable();
        if (backingFile is not null && Encoding.UTF8.GetByteCount(backingFile) > Qcow2Constants.MaxBackingFileNameLength)
        {
            throw new InvalidOptionException("Backing file name too long");
        }

        lock (_lock)
        {
            FlushMetadataLocked();
            var format = backingFile is null || backingFormat is null ? null : Encoding.UTF8.GetBytes(backingFormat);
            var header = (_header with { BackingFile = string.IsNullOrEmpty(backingFile) ? null : backingFile })
                .WithExtension(Qcow2Constants.ExtensionBackingFormat, format);
            header.Serialize();
            _header = header;
            WriteHeaderLocked();
            _file.Flush();
        }
    }

    /// <summary>Makes every cluster unallocated (reads fall through to the backing file), as QEMU's make_empty.</summary>
    internal void MakeEmpty()
    {
        CheckWritable();
        lock (_lock)
        {
            if (CanEmptyCompletelyLocked())
            {
                MakeCompletelyEmptyLocked();
                return;
            }

            FlushMetadataLocked();
            UnmapFromLocked(0);
            FlushMetadataLocked();
            TruncateAfterLastUsedClusterLocked();
        }
    }

    /// <summary>
    /// QEMU resets the whole file rather than discarding cluster by cluster when nothing but the header, one refcount
    /// table and block and the L1 table need to survive: a v3 image (it relies on the dirty flag) without snapshots,
    /// bitmaps, LUKS header or external data file, whose L1 table and three clusters fit in one refcount block.
    /// </summary>
    private bool CanEmptyCompletelyLocked()
    {
        var l1Clusters = L1ClustersOf(_header.L1Size);
        var refblockEntries = 1L << (_clusterBits + 3 - _header.RefcountOrder);
        return _header.Version >= 3 && _snapshots.Count == 0 && _header.FindExtension(Qcow2Constants.ExtensionBitmaps) is null
            && 3 + l1Clusters <= refblockEntries && _header.CryptMethod != 2 && !_header.HasDataFile && _refcounts is not null;
    }

    private long L1ClustersOf(int l1Size) => ((l1Size * 8L) + _clusterSize - 1) >> _clusterBits;

    /// <summary>
    /// QEMU's make_completely_empty, step for step and with its blkdebug events: with the image marked dirty, the L1
    /// table and then the clusters after the header are zeroed, the header points at a fresh refcount table (cluster 1),
    /// refcount block (cluster 2) and L1 table (cluster 3), the first clusters are counted, the image is marked clean
    /// and the file cut. A failure after the dirty flag is set leaves the image to the repair its next writable open
    /// does, as in QEMU (leaked clusters or rebuilt refcounts, never lost references), and nothing more is written.
    /// </summary>
    private void MakeCompletelyEmptyLocked()
    {
        FlushMetadataLocked();
        _l2Cache.Clear();
        _refcounts!.Cache.Clear();
        if (!_header.IsDirty)
        {
            _file.Flush();
            _header = _header with { IncompatibleFeatures = _header.IncompatibleFeatures | Qcow2Constants.IncompatibleDirty };
            WriteHeaderLocked();
            _file.Flush();
        }

        var l1Clusters = L1ClustersOf(_header.L1Size);
        var broken = true;
        try
        {
            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.L1Update);
            _file.WriteZeroes(_header.L1TableOffset, l1Clusters << _clusterBits, mayUnmap: false);
            Array.Clear(_l1);

            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.EmptyImagePrepare);
            _file.WriteZeroes(_clusterSize, (2 + l1Clusters) << _clusterBits, mayUnmap: false);

            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.L1Update);
            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.ReftableUpdate);
            Span<byte> pointers = stackalloc byte[20];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(pointers, 3L * _clusterSize);
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(pointers[8..], _clusterSize);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(pointers[16..], 1);
            _file.Write(40, pointers); // l1_table_offset, refcount_table_offset, refcount_table_clusters
            _file.Flush();
            _header = _header with { L1TableOffset = 3L * _clusterSize, RefcountTableOffset = _clusterSize, RefcountTableClusters = 1 };

            IO.Blkdebug.BlkdebugStorage.Raise(_file, IO.Blkdebug.BlkdebugEvent.RefblockAlloc);
            Span<byte> entry = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(entry, 2L * _clusterSize);
            _file.Write(_clusterSize, entry);
            _file.Flush();

            _refcounts = new Qcow2Refcounts(_file, _header, DefaultRefcountCacheBytes, OnRefcountTableMoved);
            // The header, refcount table, refcount block and L1 table are the first clusters, all free on the new table.
            for (var cluster = 0L; cluster < 3 + l1Clusters; cluster++)
            {
                if (_refcounts.Get(cluster) != 0)
                {
                    throw new InvalidImageException("First cluster in emptied image is in use");
                }

                _refcounts.Add(cluster, 1);
            }

            broken = false;
        }
        finally
        {
            _pendingFrees.Clear();
            _freesKeepingBytes.Clear();
            _l1DirtyLow = int.MaxValue;
            _l1DirtyHigh = -1;
            _freeByteOffset = 0;
            if (broken)
            {
                // The on-disk refcounts no longer describe the file: nothing more may be written (QEMU ejects the node).
                _refcounts = null;
            }
        }

        _refcounts!.WriteDirty(); // set by the try block, which threw otherwise
        _file.Flush();
        _header = _header with { IncompatibleFeatures = _header.IncompatibleFeatures & ~Qcow2Constants.IncompatibleDirty };
        WriteHeaderLocked();
        _file.Flush();
        _dirtyBitSetHere = false;
        _file.SetLength((3 + l1Clusters) << _clusterBits);
    }
}
