namespace DiskImage.Operations.Map;

/// <summary>
/// One run of <c>qemu-img map</c>: guest bytes <see cref="Start"/>..+<see cref="Length"/> that share where
/// they come from. <see cref="Depth"/> counts backing layers down to the one that decides the content.
/// </summary>
/// <param name="Start">Guest offset.</param>
/// <param name="Length">Bytes.</param>
/// <param name="Depth">0 for the image itself, 1 for its backing file, and so on.</param>
/// <param name="Present">Allocated in the layer at <see cref="Depth"/> (false: nothing in the chain holds it).</param>
/// <param name="Zero">Reads as zeroes.</param>
/// <param name="Data">The layer stores data for it.</param>
/// <param name="Offset">Host offset in <see cref="Filename"/>, when the layer maps the run to plain bytes.</param>
/// <param name="Filename">The file holding the bytes at <see cref="Offset"/>; null without an offset.</param>
public sealed record MapEntry(long Start, long Length, int Depth, bool Present, bool Zero, bool Data, long? Offset, string? Filename)
{
    /// <summary>Whether <paramref name="next"/> continues this run the way qemu-img merges map entries.</summary>
    public bool CanMerge(MapEntry next) =>
        Length > 0
        && Zero == next.Zero && Data == next.Data && Depth == next.Depth && Present == next.Present
        && Offset.HasValue == next.Offset.HasValue && Filename == next.Filename
        && (Offset is not { } offset || offset + Length == next.Offset);
}
