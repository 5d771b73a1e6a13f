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
    private Qcow2DirtyBitmap[] _loadedBitmaps = [];
    private Qcow2DirtyBitmap[] _trackingBitmaps = [];

    /// <summary>Marks <c>[offset, offset + length)</c> dirty in every enabled bitmap.</summary>
    private void MarkBitmapsDirty(long offset, long length)
    {
        foreach (var bitmap in _trackingBitmaps)
        {
            bitmap.MarkDirty(offset, length);
        }
    }

    /// <summary>Called once the refcounts are loaded for writing, before anything else is written.</summary>
    private void StartTrackingBitmapsLocked()
    {
        if (_bitmaps.Count == 0 || _header.Version < 3 || Qcow2BitmapsExtension.From(_header) is not { } extension)
        {
            return;
        }

        var loaded = new List<Qcow2DirtyBitmap>();
        foreach (var bitmap in _bitmaps.Where(b => !b.InUse))
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

            loaded.Add(memory);
        }

        if (loaded.Count == 0)
        {
            return;
        }

        // in_use goes to the directory in place (same size, flags only) and reaches the disk before any write.
        _bitmaps = _bitmaps.Select(b => b with { Flags = b.Flags | Qcow2BitmapLimits.FlagInUse }).ToList();
        _file.Write(extension.DirectoryOffset, Qcow2BitmapDirectory.Serialize(_bitmaps));
        _file.Flush();
        _loadedBitmaps = [.. loaded];
        _trackingBitmaps = loaded.Where(b => b.Enabled).ToArray();
    }

    /// <summary>Refuses a resize QEMU refuses (an inconsistent bitmap), and resizes the bitmaps in memory.</summary>
    private void ResizeBitmapsLocked(long newSize)
    {
        if (_bitmaps.FirstOrDefault(b => b.InUse && _loadedBitmaps.All(l => l.Stored.Name != b.Name)) is { } stale)
        {
            throw new InconsistentBitmapException($"Bitmap '{stale.Name}' is inconsistent and cannot be used");
        }

        foreach (var bitmap in _loadedBitmaps)
        {
            bitmap.Resize(newSize);
        }
    }

    /// <summary>Stores every loaded bitmap with <c>in_use</c> cleared (QEMU's <c>qcow2_store_persistent_dirty_bitmaps</c>).</summary>
    private void StoreBitmapsLocked()
    {
        if (_loadedBitmaps.Length == 0 || _header.Version < 3 || Qcow2BitmapsExtension.From(_header) is not { } oldExtension)
        {
            return;
        }

        var refcounts = _refcounts!;
        var entries = new List<Qcow2Bitmap>();
        var chunk = new byte[_clusterSize];
        foreach (var entry in _bitmaps)
        {
            var memory = _loadedBitmaps.FirstOrDefault(l => l.Stored.Name == entry.Name);
            if (memory is null)
            {
                entries.Add(entry); // inconsistent since open: left as it is
                continue;
            }

            var tableSize = (int)Qcow2BitmapLimits.TableEntries(_header.Size, entry.GranularityBits, _clusterSize);
            var table = new byte[tableSize * 8L];
            for (var i = 0; i < tableSize; i++)
            {
                if (memory.Serialize((long)i * _clusterSize, chunk))
                {
                    var host = refcounts.Allocate(1);
                    _file.Write(host, chunk);
                    System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(table.AsSpan(i * 8), host);
                }
            }

            var tableClusters = (int)((table.Length + _clusterSize - 1) / _clusterSize);
            var tableOffset = refcounts.Allocate(tableClusters);
            _file.Write(tableOffset, table);
            entries.Add(entry with { Flags = entry.Flags & ~Qcow2BitmapLimits.FlagInUse, TableOffset = tableOffset, TableSize = tableSize });
        }

        var directory = Qcow2BitmapDirectory.Serialize(entries);
        var directoryOffset = refcounts.Allocate((int)((directory.Length + _clusterSize - 1) / _clusterSize));
        _file.Write(directoryOffset, directory);
        FlushMetadataLocked();

        // The header switches to the new directory only once everything it points at is on disk.
        var extension = new Qcow2BitmapsExtension((uint)entries.Count, directory.Length, directoryOffset);
        _header = _header.WithExtension(Qcow2Constants.ExtensionBitmaps, extension.Serialize());
        WriteHeaderLocked();
        _file.Flush();

        AddClusterRange(_pendingFrees, oldExtension.DirectoryOffset, oldExtension.DirectorySize);
        foreach (var memory in _loadedBitmaps)
        {
            foreach (var old in Qcow2BitmapTable.Read(_file, memory.Stored))
            {
                if ((old & Qcow2BitmapLimits.TableEntryOffsetMask) is var offset and not 0)
                {
                    _pendingFrees.Add((long)offset >> _clusterBits);
                }
            }

            AddClusterRange(_pendingFrees, memory.Stored.TableOffset, memory.Stored.TableSize * 8L);
        }

        // Only clusters that are counted can be released (a crafted table may point anywhere).
        var counted = _pendingFrees.Where(c => c < refcounts.CoveredClusters && refcounts.Get(c) > 0).ToList();
        _pendingFrees.Clear();
        _pendingFrees.AddRange(counted);
        ApplyPendingFreesLocked();
        _bitmaps = entries;
        _loadedBitmaps = [];
        _trackingBitmaps = [];
    }
}
