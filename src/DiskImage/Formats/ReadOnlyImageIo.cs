using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// What the formats QEMU only reads (bochs, cloop, dmg) answer alike: every change is refused, and as their drivers
/// report no block status, every byte is data.
/// </summary>
internal static class ReadOnlyImageIo
{
    /// <summary>The refusal of a write, zero write or discard.</summary>
    public static InvalidOperationException Refusal() => new("The image was opened read-only.");

    /// <summary>One data extent over the range, as QEMU's block layer reports a driver without block status.</summary>
    public static IReadOnlyList<Extent> AllData(long imageLength, long offset, long length)
    {
        HostMappedIo.CheckRange(imageLength, offset, length);
        return length == 0 ? [] : [new Extent(offset, length, ExtentKind.Data)];
    }
}
