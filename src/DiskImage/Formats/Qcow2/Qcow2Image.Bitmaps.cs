using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Persistent dirty bitmaps: the directory is read and every bitmap checked at open, as QEMU loads them,
/// so an image QEMU would refuse to open is refused here with the same words.
/// </summary>
public sealed partial class Qcow2Image
{
    private IReadOnlyList<Qcow2Bitmap> _bitmaps = [];

    /// <summary>The bitmaps of the directory, in directory order.</summary>
    internal IReadOnlyList<Qcow2Bitmap> PersistentBitmaps => _bitmaps;

    /// <summary>
    /// True when the image holds persistent dirty bitmaps that are valid for it (the bitmaps extension is present and
    /// its autoclear bit is still set, so no bitmap-unaware writer has changed the image since).
    /// </summary>
    public bool HasPersistentBitmaps => _bitmaps.Count > 0;

    private void LoadBitmaps()
    {
        if (Qcow2BitmapsExtension.From(_header) is not { } extension)
        {
            return;
        }

        var bitmaps = Qcow2BitmapDirectory.Load(_file, extension, _clusterSize, _header.Size);
        Qcow2BitmapTable.Validate(_file, bitmaps, _clusterSize, _header.Size);
        _bitmaps = bitmaps;
    }

    private IReadOnlyList<Qcow2BitmapInfo>? BitmapInfo() => _bitmaps.Count == 0
        ? null
        : _bitmaps.Select(b => new Qcow2BitmapInfo(b.Name, b.Granularity, b.FlagNames)).ToList();

    /// <summary>
    /// QEMU's <c>qcow2_get_persistent_dirty_bitmap_size</c>: what copying every bitmap into an image of
    /// <paramref name="clusterSize"/>-byte clusters takes, with every bitmap assumed fully allocated.
    /// </summary>
    internal long PersistentBitmapsSize(int clusterSize)
    {
        long size = 0, directory = 0;
        foreach (var bitmap in _bitmaps)
        {
            var bytes = ((_header.Size + bitmap.Granularity - 1) / bitmap.Granularity + 7) / 8;
            var clusters = (bytes + clusterSize - 1) / clusterSize;
            size += clusters * clusterSize;
            size += RoundUp(clusters * 8, clusterSize);
            directory += Qcow2BitmapLimits.EntrySize(System.Text.Encoding.UTF8.GetByteCount(bitmap.Name));
        }

        return size + RoundUp(directory, clusterSize);

        static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
    }
}
