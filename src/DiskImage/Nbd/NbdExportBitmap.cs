using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Nbd;

/// <summary>A persistent dirty bitmap offered as the meta context <c>qemu:dirty-bitmap:NAME</c> (qemu-nbd's <c>-B</c>).</summary>
/// <param name="Name">The bitmap's name.</param>
/// <param name="ContextId">Its meta context id: 2 and up in export order, after <c>base:allocation</c> (0) and <c>qemu:allocation-depth</c> (1), as qemu-nbd numbers them.</param>
/// <param name="Bits">Its bits: live while the image is open for writing (client writes show), else as read at start.</param>
internal sealed record NbdExportBitmap(string Name, uint ContextId, Qcow2DirtyBitmap Bits)
{
    public string ContextName => NbdConstants.DirtyBitmapPrefix + Name;

    /// <summary>
    /// Finds each named bitmap in the image or, as qemu-nbd does, in the first image of its backing chain that has
    /// one of that name; refuses a missing or inconsistent one with qemu-nbd's words before anything is served.
    /// </summary>
    public static IReadOnlyList<NbdExportBitmap> Resolve(NbdExport export)
    {
        var result = new List<NbdExportBitmap>(export.Bitmaps.Count);
        foreach (var name in export.Bitmaps)
        {
            Qcow2DirtyBitmap? bits = null;
            for (IDiskImage? layer = export.Image; layer is not null && bits is null; layer = layer.Backing)
            {
                bits = (layer as Qcow2Image)?.FindBitmap(name);
            }

            result.Add(new NbdExportBitmap(name, (uint)(NbdConstants.FirstDirtyBitmapContextId + result.Count),
                bits ?? throw new InvalidOptionException($"Bitmap '{name}' is not found")));
        }

        return result;
    }
}
