using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Formats.Qcow2;

/// <summary>A bitmap's bits for readers (NBD export, incremental backup): the live ones while tracked, else read from the file.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// The bits of bitmap <paramref name="name"/>, or null when the image has no such bitmap. While the image is open
    /// for writing this is the bitmap writes keep marking; otherwise a copy read from the file now. A bitmap found
    /// <c>in_use</c> at open is inconsistent and refused with QEMU's words.
    /// </summary>
    internal Qcow2DirtyBitmap? FindBitmap(string name)
    {
        lock (_lock)
        {
            if (_loadedBitmaps.FirstOrDefault(l => l.Name == name) is { } live)
            {
                return live;
            }

            if (_bitmaps.FirstOrDefault(b => b.Name == name) is not { } entry)
            {
                return null;
            }

            return entry.InUse
                ? throw new InconsistentBitmapException($"Bitmap '{name}' is inconsistent and cannot be used")
                : ReadBitmapData(entry);
        }
    }
}
