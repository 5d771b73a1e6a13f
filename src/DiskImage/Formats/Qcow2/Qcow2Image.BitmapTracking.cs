using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Keeping persistent bitmaps true while the image is open for writing, in QEMU's order: at open each
/// bitmap's data is loaded and its <c>in_use</c> flag written to the directory (in place) before any
/// guest write; every write, zero write and discard marks its granules in every enabled bitmap; on a clean
/// close the bitmaps are stored anew (data, tables, directory, then the header switches to them, then the
/// old clusters are freed) with <c>in_use</c> cleared. A crash leaves them <c>in_use</c>: inconsistent,
/// as QEMU treats them. A bitmap already <c>in_use</c> at open is kept as it is and not tracked.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>The consistent bitmaps in memory (loaded at open or added since), oldest first.</summary>
    private readonly List<Qcow2DirtyBitmap> _loadedBitmaps = [];
    private Qcow2DirtyBitmap[] _trackingBitmaps = [];

    /// <summary>Marks <c>[offset, offset + length)</c> dirty in every enabled bitmap.</summary>
    private void MarkBitmapsDirty(long offset, long length)
    {
        foreach (var bitmap in _trackingBitmaps)
        {
            bitmap.MarkDirty(offset, length);
        }
    }

    /// <summary>The set of bitmaps writes mark changed (added, removed, enabled or disabled).</summary>
    private void RefreshTrackingLocked() => _trackingBitmaps = _loadedBitmaps.Where(b => b.Enabled).ToArray();

    /// <summary>Reads a stored bitmap's data into memory (all-ones entries set whole words, as QEMU loads them).</summary>
    internal Qcow2DirtyBitmap ReadBitmapData(Qcow2Bitmap bitmap)
    {
        var memory = new Qcow2DirtyBitmap(bitmap, _header.Size);
        var table = Qcow2BitmapTable.Read(_file, bitmap);
        var chunk = new byte[_clusterSize];
        for (var i = 0; i < table.Length; i++)
        {
            var dataOffset = (long)(table[i] & Qcow2BitmapLimits.TableEntryOffsetMask);
            if (dataOffset != 0)
            {
                _file.Read(dataOffset, chunk);
                memory.Load((long)i * _clusterSize, chunk);
            }
            else if ((table[i] & Qcow2BitmapLimits.TableEntryAllOnes) != 0)
            {
                memory.LoadOnes((long)i * _clusterSize, _clusterSize);
            }
        }

        return memory;
    }

    /// <summary>Called once the refcounts are loaded for writing, before anything else is written.</summary>
    private void StartTrackingBitmapsLocked()
    {
        if (_bitmaps.Count == 0 || _header.Version < 3 || Qcow2BitmapsExtension.From(_header) is not { } extension)
        {
            return;
        }

        var loaded = _bitmaps.Where(b => !b.InUse).Select(ReadBitmapData).ToList();
        if (loaded.Count == 0)
        {
            return;
        }

        // in_use goes to the directory in place (same size, flags only) and reaches the disk before any write.
        _bitmaps = _bitmaps.Select(b => b with { Flags = b.Flags | Qcow2BitmapLimits.FlagInUse }).ToList();
        try
        {
            _file.Write(extension.DirectoryOffset, Qcow2BitmapDirectory.Serialize(_bitmaps));
            _file.Flush();
        }
        catch (ImageAccessException e)
        {
            // Before anything else was written: the open fails in QEMU's words, the bitmaps as they were on disk.
            throw new ImageAccessException($"Can't update bitmap directory: {e.Message}", e);
        }

        _loadedBitmaps.AddRange(loaded);
        RefreshTrackingLocked();
    }

    /// <summary>Refuses a resize QEMU refuses (an inconsistent bitmap), and resizes the bitmaps in memory.</summary>
    private void ResizeBitmapsLocked(long newSize)
    {
        if (InconsistentBitmaps().FirstOrDefault() is { } stale)
        {
            throw new InconsistentBitmapException($"Bitmap '{stale.Name}' is inconsistent and cannot be used");
        }

        foreach (var bitmap in _loadedBitmaps)
        {
            bitmap.Resize(newSize);
        }
    }

    /// <summary>Directory entries found <c>in_use</c> at open: kept as they are, never loaded.</summary>
    private IEnumerable<Qcow2Bitmap> InconsistentBitmaps() =>
        _bitmaps.Where(b => b.InUse && _loadedBitmaps.All(l => l.Stored?.Name != b.Name));

    /// <summary>
    /// Stores every loaded bitmap with <c>in_use</c> cleared (QEMU's <c>qcow2_store_persistent_dirty_bitmaps</c>),
    /// in QEMU's order: the directory's entries as they stand, then bitmaps new to it, newest first. When a
    /// step fails (a full disk), every cluster taken here is given back and the directory is left as it is, so
    /// the bitmaps stay <c>in_use</c> (inconsistent) and nothing leaks; the exception carries QEMU's wording.
    /// </summary>
    private void StoreBitmapsLocked()
    {
        if (_loadedBitmaps.Count == 0 || _header.Version < 3)
        {
            return;
        }

        var entries = _bitmaps.ToList();
        var memories = new Dictionary<string, Qcow2DirtyBitmap>(StringComparer.Ordinal);
        foreach (var memory in Enumerable.Reverse(_loadedBitmaps))
        {
            memories[memory.Name] = memory;
            if (entries.FindIndex(e => e.Name == memory.Name) < 0)
            {
                entries.Add(new Qcow2Bitmap(memory.Name, memory.GranularityBits, 0, 0, 0));
            }
        }

        var dropped = new List<Qcow2Bitmap>();
        var taken = new List<(long Cluster, bool Data)>();
        _loadedBitmaps.Clear();
        _trackingBitmaps = [];
        try
        {
            for (var index = 0; index < entries.Count; index++)
            {
                if (!memories.TryGetValue(entries[index].Name, out var memory))
                {
                    continue; // inconsistent at open: kept as it is
                }

                var (tableOffset, tableSize) = StoreBitmapLocked(memory, taken);
                if (entries[index].TableOffset != 0)
                {
                    dropped.Add(entries[index]);
                }

                entries[index] = new Qcow2Bitmap(memory.Name, memory.GranularityBits, memory.Enabled ? Qcow2BitmapLimits.FlagAuto : 0, tableOffset, tableSize);
            }

            WriteBitmapDirectoryLocked(entries);
        }
        catch (Exception e) when (e is DiskImageException or IOException)
        {
            // As QEMU's failure path: the new tables and data go back (and are discarded, as QEMU frees them);
            // the old ones stay where the directory points.
            ReleaseClustersLocked(taken);
            throw;
        }

        foreach (var old in dropped)
        {
            FreeBitmapClustersLocked(old);
        }

        ApplyCountedFreesLocked();
    }

    /// <summary>
    /// Stores the bitmaps as the image closes. A failure does not fail the close, as in QEMU: the bitmaps are
    /// lost (left <c>in_use</c>, so inconsistent), a warning in QEMU's words is raised, and false is returned.
    /// </summary>
    private bool TryStoreBitmapsAtCloseLocked()
    {
        try
        {
            StoreBitmapsLocked();
            return true;
        }
        catch (Exception e) when (e is DiskImageException or IOException)
        {
            ImageWarnings.Report($"Lost persistent bitmaps during inactivation of node '{QemuNodeName.Next()}': {e.Message}");
            return false;
        }
    }

    /// <summary>
    /// Gives back clusters nothing points at yet (QEMU's <c>qcow2_free_clusters</c>). Bitmap data clusters that are
    /// then free are discarded, as QEMU frees them with "discard always"; tables and directories are freed as
    /// "other" metadata, which QEMU does not discard by default.
    /// </summary>
    private void ReleaseClustersLocked(IEnumerable<(long Cluster, bool Data)> clusters)
    {
        foreach (var (cluster, data) in clusters)
        {
            _refcounts!.Add(cluster, -1);
            if (data && _refcounts.Get(cluster) == 0)
            {
                _file.WriteZeroes(cluster << _clusterBits, _clusterSize, mayUnmap: true);
            }
        }
    }

    /// <summary>Writes one bitmap's data and table to new clusters (recorded in <paramref name="taken"/>); returns the table's place.</summary>
    private (long Offset, int Size) StoreBitmapLocked(Qcow2DirtyBitmap memory, List<(long Cluster, bool Data)> taken)
    {
        var table = StoreBitmapDataLocked(memory, taken, out var tableSize);
        var tableClusters = (int)((table.Length + _clusterSize - 1) / _clusterSize);
        var tableOffset = AllocateForBitmapLocked(memory.Name, tableClusters, taken, data: false);
        WriteForBitmapLocked(memory.Name, tableOffset, table);
        return (tableOffset, tableSize);
    }

    /// <summary>Writes each non-zero cluster of the bitmap's data to a new cluster; returns the serialized table.</summary>
    private byte[] StoreBitmapDataLocked(Qcow2DirtyBitmap memory, List<(long Cluster, bool Data)> taken, out int tableSize)
    {
        var chunk = new byte[_clusterSize];
        tableSize = (int)Qcow2BitmapLimits.TableEntries(_header.Size, memory.GranularityBits, _clusterSize);
        var table = new byte[tableSize * 8L];
        for (var i = 0; i < tableSize; i++)
        {
            if (memory.Serialize((long)i * _clusterSize, chunk))
            {
                var host = AllocateForBitmapLocked(memory.Name, 1, taken, data: true);
                WriteForBitmapLocked(memory.Name, host, chunk);
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(table.AsSpan(i * 8), host);
            }
        }

        return table;
    }

    private long AllocateForBitmapLocked(string name, int clusters, List<(long Cluster, bool Data)> taken, bool data)
    {
        long offset;
        try
        {
            offset = _refcounts!.Allocate(clusters);
        }
        catch (Exception e) when (e is DiskImageException or IOException)
        {
            throw new ImageAccessException($"Failed to allocate clusters for bitmap '{name}': {Reason(e)}", e);
        }

        for (var i = 0; i < clusters; i++)
        {
            taken.Add(((offset >> _clusterBits) + i, data));
        }

        return offset;
    }

    private void WriteForBitmapLocked(string name, long offset, byte[] data)
    {
        try
        {
            _file.Write(offset, data);
        }
        catch (Exception e) when (e is DiskImageException or IOException)
        {
            throw new ImageAccessException($"Failed to write bitmap '{name}' to file: {Reason(e)}", e);
        }
    }

    /// <summary>The strerror-like reason QEMU appends to a failed bitmap step.</summary>
    private static string Reason(Exception e) =>
        e is IOException ? Operations.Io.QemuIoErrno.Text(Operations.Io.QemuIoErrno.From(e)) : e.Message;

    /// <summary>
    /// QEMU's <c>update_ext_header_and_dir</c>: a new directory (none when <paramref name="entries"/> is empty),
    /// flushed before the header points at it, then the old directory is freed (pending).
    /// </summary>
    private void WriteBitmapDirectoryLocked(List<Qcow2Bitmap> entries)
    {
        var oldExtension = Qcow2BitmapsExtension.From(_header);
        if (entries.Count > 0)
        {
            var directory = Qcow2BitmapDirectory.Serialize(entries);
            var clusters = (int)((directory.Length + _clusterSize - 1) / _clusterSize);
            var directoryOffset = -1L;
            try
            {
                directoryOffset = _refcounts!.Allocate(clusters);
                _file.Write(directoryOffset, directory);
                FlushMetadataLocked();
            }
            catch (Exception e) when (e is DiskImageException or IOException)
            {
                // Nothing points at the new directory yet: its clusters go back and the old one stays in use.
                if (directoryOffset >= 0)
                {
                    ReleaseClustersLocked(Enumerable.Range(0, clusters).Select(i => ((directoryOffset >> _clusterBits) + i, false)));
                }

                throw new ImageAccessException($"Failed to update bitmap extension: {Reason(e)}", e);
            }

            var extension = new Qcow2BitmapsExtension((uint)entries.Count, directory.Length, directoryOffset);
            _header = _header.WithExtension(Qcow2Constants.ExtensionBitmaps, extension.Serialize()) with
            {
                AutoclearFeatures = _header.AutoclearFeatures | Qcow2Constants.AutoclearBitmaps,
            };
        }
        else
        {
            _header = _header.WithExtension(Qcow2Constants.ExtensionBitmaps, null) with
            {
                AutoclearFeatures = _header.AutoclearFeatures & ~Qcow2Constants.AutoclearBitmaps,
            };
        }

        WriteHeaderLocked();
        _file.Flush();
        if (oldExtension is not null)
        {
            AddClusterRange(_pendingFrees, oldExtension.DirectoryOffset, oldExtension.DirectorySize);
        }

        _bitmaps = entries;
    }

    /// <summary>QEMU's <c>free_bitmap_clusters</c>: the data clusters and the table (pending); nothing when the table is invalid.</summary>
    private void FreeBitmapClustersLocked(Qcow2Bitmap bitmap)
    {
        if (bitmap.TableOffset >= _file.Length)
        {
            return;
        }

        var table = Qcow2BitmapTable.Read(_file, bitmap);
        if (table.Any(entry => !Qcow2BitmapTable.IsValidEntry(entry, _clusterSize)))
        {
            return; // QEMU cannot load such a table and frees nothing (the clusters leak)
        }

        foreach (var entry in table)
        {
            if ((entry & Qcow2BitmapLimits.TableEntryOffsetMask) is var offset and not 0)
            {
                _pendingFrees.Add((long)offset >> _clusterBits);
            }
        }

        AddClusterRange(_pendingFrees, bitmap.TableOffset, bitmap.TableSize * 8L);
    }

    /// <summary>
    /// A version 2 image cannot hold bitmaps. Once the header without the extension is on disk, the directory,
    /// tables and data clusters are freed, so the downgraded image has no leaks (QEMU 7.2 keeps a stale extension
    /// in the v2 header and leaks the clusters).
    /// </summary>
    private void DropBitmapsAfterDowngradeLocked(Qcow2BitmapsExtension? oldExtension)
    {
        _loadedBitmaps.Clear();
        _trackingBitmaps = [];
        if (_bitmaps.Count == 0)
        {
            return;
        }

        foreach (var entry in _bitmaps)
        {
            FreeBitmapClustersLocked(entry);
        }

        if (oldExtension is not null)
        {
            AddClusterRange(_pendingFrees, oldExtension.DirectoryOffset, oldExtension.DirectorySize);
        }

        ApplyCountedFreesLocked();
        FlushMetadataLocked();
        _bitmaps = [];
    }

    /// <summary>Releases the pending frees that are counted (a crafted table may point anywhere).</summary>
    private void ApplyCountedFreesLocked()
    {
        var refcounts = _refcounts!;
        var counted = _pendingFrees.Distinct().Where(c => c < refcounts.CoveredClusters && refcounts.Get(c) > 0).ToList();
        _pendingFrees.Clear();
        _pendingFrees.AddRange(counted);
        ApplyPendingFreesLocked();
    }
}
