using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Managing persistent dirty bitmaps on an image open for writing, as QEMU's block-dirty-bitmap commands do
/// (<c>qemu-img bitmap</c>): add, remove, clear, enable, disable and merge. Changes live in memory and are
/// stored on a clean close (<see cref="Dispose"/>), except a removal, which rewrites the directory and frees
/// the bitmap's clusters at once. Failures carry QEMU's words.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>QEMU's default granularity: the cluster size, kept between 4 KiB and 64 KiB.</summary>
    public long DefaultBitmapGranularity => Math.Clamp(_clusterSize, 4096, 65536);

    /// <summary>True for images that can hold persistent bitmaps (version 3; QEMU's <c>qcow2_supports_persistent_dirty_bitmap</c>).</summary>
    public bool SupportsPersistentBitmaps => _header.Version >= 3;

    /// <summary>Names of the bitmaps found <c>in_use</c> at open (inconsistent: only removal is allowed), in directory order.</summary>
    public IEnumerable<string> InconsistentBitmapNames()
    {
        lock (_lock)
        {
            return InconsistentBitmaps().Select(b => b.Name).ToList();
        }
    }

    /// <summary>The bitmaps as they stand now (stored ones, in memory ones and those added since open), in directory order.</summary>
    public IReadOnlyList<Qcow2BitmapInfo> ListBitmaps()
    {
        lock (_lock)
        {
            var list = new List<Qcow2BitmapInfo>();
            foreach (var entry in _bitmaps)
            {
                var memory = _loadedBitmaps.FirstOrDefault(b => b.Name == entry.Name);
                list.Add(memory is null ? new Qcow2BitmapInfo(entry.Name, entry.Granularity, entry.FlagNames) : Describe(memory));
            }

            list.AddRange(Enumerable.Reverse(_loadedBitmaps).Where(b => _bitmaps.All(e => e.Name != b.Name)).Select(Describe));
            return list;
        }

        static Qcow2BitmapInfo Describe(Qcow2DirtyBitmap b) => new(b.Name, b.Granularity, b.Enabled ? ["auto"] : []);
    }

    /// <summary>
    /// Adds an enabled persistent bitmap (QEMU's <c>block-dirty-bitmap-add</c> with persistent=on), stored on close.
    /// </summary>
    /// <param name="name">The new bitmap's name (at most 1023 bytes of UTF-8).</param>
    /// <param name="granularity">Bytes per bit: a power of two from 512 to 2 GiB; 0 for <see cref="DefaultBitmapGranularity"/>.</param>
    public void AddBitmap(string name, long granularity = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckWritable();
        if (name.Length == 0)
        {
            throw new InvalidOptionException("Bitmap name cannot be empty");
        }

        if (granularity != 0 && (granularity < 512 || (granularity & (granularity - 1)) != 0))
        {
            throw new InvalidOptionException("Granularity must be power of 2 and at least 512");
        }

        granularity = granularity == 0 ? DefaultBitmapGranularity : granularity;
        lock (_lock)
        {
            if (FindBitmapLocked(name) is not null)
            {
                throw new InvalidOptionException($"Bitmap already exists: {name}");
            }

            var refusal = BitmapStoreRefusal(name, granularity);
            if (refusal is not null)
            {
                throw new UnsupportedFeatureException($"Can't make bitmap '{name}' persistent in '{QemuNodeName.Next()}': {refusal}");
            }

            _loadedBitmaps.Add(new Qcow2DirtyBitmap(name, System.Numerics.BitOperations.Log2((ulong)granularity), enabled: true, _header.Size));
            RefreshTrackingLocked();
        }
    }

    /// <summary>QEMU's <c>qcow2_co_can_store_new_dirty_bitmap</c> after the name check: why the bitmap can't be stored, or null.</summary>
    private string? BitmapStoreRefusal(string name, long granularity)
    {
        if (_header.Version < 3)
        {
            return "Cannot store dirty bitmaps in qcow2 v2 files";
        }

        var bits = System.Numerics.BitOperations.Log2((ulong)granularity);
        if (bits > Qcow2BitmapLimits.MaxGranularityBits)
        {
            return $"Granularity exceeds maximum ({1L << Qcow2BitmapLimits.MaxGranularityBits} bytes)";
        }

        var bytes = ((_header.Size + granularity - 1) / granularity + 7) / 8;
        if (bytes > Qcow2BitmapLimits.MaxDataBytes || bytes > (long)Qcow2BitmapLimits.MaxTableEntries * _clusterSize)
        {
            return "Too much space will be occupied by the bitmap. Use larger granularity";
        }

        var nameBytes = System.Text.Encoding.UTF8.GetByteCount(name);
        if (nameBytes > Qcow2BitmapLimits.MaxNameBytes)
        {
            return $"Name length exceeds maximum ({Qcow2BitmapLimits.MaxNameBytes} characters)";
        }

        var names = _loadedBitmaps.Select(b => b.Name).Concat(InconsistentBitmaps().Select(b => b.Name)).Append(name).ToList();
        if (names.Count > Qcow2BitmapLimits.MaxBitmaps)
        {
            return "Maximum number of persistent bitmaps is already reached";
        }

        return names.Sum(n => (long)Qcow2BitmapLimits.EntrySize(System.Text.Encoding.UTF8.GetByteCount(n))) > Qcow2BitmapLimits.MaxDirectoryBytes
            ? "Not enough space in the bitmap directory"
            : null;
    }

    /// <summary>
    /// Removes a bitmap (QEMU's <c>block-dirty-bitmap-remove</c>): the directory is rewritten without it and its
    /// clusters are freed at once. Inconsistent bitmaps can be removed.
    /// </summary>
    public void RemoveBitmap(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckWritable();
        lock (_lock)
        {
            _ = FindBitmapLocked(name) ?? throw NotFound(name);
            FlushMetadataLocked();
            if (_bitmaps.FirstOrDefault(b => b.Name == name) is { } entry)
            {
                WriteBitmapDirectoryLocked(_bitmaps.Where(b => b != entry).ToList());
                FreeBitmapClustersLocked(entry);
                ApplyCountedFreesLocked();
                FlushMetadataLocked();
            }

            _loadedBitmaps.RemoveAll(b => b.Name == name);
            RefreshTrackingLocked();
        }
    }

    /// <summary>Marks every granule of a bitmap clean (QEMU's <c>block-dirty-bitmap-clear</c>).</summary>
    public void ClearBitmap(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckWritable();
        lock (_lock)
        {
            UsableBitmapLocked(name).Clear();
        }
    }

    /// <summary>Makes a bitmap track writes (QEMU's <c>block-dirty-bitmap-enable</c>; stored with the <c>auto</c> flag).</summary>
    public void EnableBitmap(string name) => SetBitmapEnabled(name, true);

    /// <summary>Stops a bitmap tracking writes (QEMU's <c>block-dirty-bitmap-disable</c>).</summary>
    public void DisableBitmap(string name) => SetBitmapEnabled(name, false);

    private void SetBitmapEnabled(string name, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckWritable();
        lock (_lock)
        {
            UsableBitmapLocked(name).Enabled = enabled;
            RefreshTrackingLocked();
        }
    }

    /// <summary>
    /// Sets in bitmap <paramref name="target"/> every granule dirty in bitmap <paramref name="sourceName"/> of
    /// <paramref name="source"/> (this image or another one of the same size; QEMU's <c>block-dirty-bitmap-merge</c>).
    /// Granularities may differ. An image of another format has no bitmaps.
    /// </summary>
    public void MergeBitmap(string target, IDiskImage source, string sourceName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sourceName);
        CheckWritable();
        lock (_lock)
        {
            if (FindBitmapLocked(target) is not { } destination)
            {
                throw NotFound(target);
            }

            var from = source is Qcow2Image qcow2 ? (qcow2 == this ? FindBitmapLocked(sourceName) : qcow2.FindBitmapForMerge(sourceName)) : null;
            if (from is null)
            {
                throw NotFound(sourceName);
            }

            var into = destination.Memory ?? throw Inconsistent(target);
            var data = from.Value.Memory ?? throw Inconsistent(sourceName);
            if (data.Length != into.Length)
            {
                throw new InvalidOptionException(
                    $"Bitmaps are of different sizes (destination size is {into.Length}, source size is {data.Length}) and can't be merged");
            }

            into.Merge(data, cancellationToken);
        }
    }

    /// <summary>A bitmap of another image, for reading: its memory copy, its stored data, or inconsistent (no memory).</summary>
    private (Qcow2DirtyBitmap? Memory, Qcow2Bitmap? Entry)? FindBitmapForMerge(string name)
    {
        lock (_lock)
        {
            if (FindBitmapLocked(name) is { } found)
            {
                return found;
            }

            return _bitmaps.FirstOrDefault(b => b.Name == name) is { } entry
                ? (entry.InUse ? null : ReadBitmapData(entry), entry)
                : null;
        }
    }

    /// <summary>A bitmap by name as QEMU finds it: in memory (consistent), or an inconsistent directory entry (no memory).</summary>
    private (Qcow2DirtyBitmap? Memory, Qcow2Bitmap? Entry)? FindBitmapLocked(string name)
    {
        if (_loadedBitmaps.FirstOrDefault(b => b.Name == name) is { } memory)
        {
            return (memory, memory.Stored);
        }

        return _file.CanWrite && InconsistentBitmaps().FirstOrDefault(b => b.Name == name) is { } entry ? (null, entry) : null;
    }

    private Qcow2DirtyBitmap UsableBitmapLocked(string name) =>
        (FindBitmapLocked(name) ?? throw NotFound(name)).Memory ?? throw Inconsistent(name);

    private static InvalidOptionException NotFound(string name) => new($"Dirty bitmap '{name}' not found");

    private static InconsistentBitmapException Inconsistent(string name) => new($"Bitmap '{name}' is inconsistent and cannot be used");
}
