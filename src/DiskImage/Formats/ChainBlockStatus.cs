using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// Block status through a backing chain: ranges the top image leaves unallocated are looked up in its
/// backing image, recursively. Past the end of a shorter backing image they read as zeroes. Callers
/// (convert, map) use this so holes and unallocated ranges are never read.
/// </summary>
public static class ChainBlockStatus
{
    /// <summary>
    /// Extents covering <c>[offset, offset + length)</c> of <paramref name="top"/>, in order, adjacent
    /// extents of the same kind and depth merged.
    /// </summary>
    public static IReadOnlyList<ChainExtent> GetExtents(IDiskImage top, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(top);
        var result = new List<ChainExtent>();
        Collect(top, 0, offset, length, result);
        return result;
    }

    private static void Collect(IDiskImage image, int depth, long offset, long length, List<ChainExtent> result)
    {
        foreach (var extent in LayerExtents(image, offset, length))
        {
            var (start, end) = (extent.Offset, extent.End);
            if (extent.Kind == ExtentKind.Unallocated && image.Backing is { } backing)
            {
                var inBacking = Math.Min(end, backing.Length);
                if (inBacking > start)
                {
                    Collect(backing, depth + 1, start, inBacking - start, result);
                }

                // The overlay is longer than its backing file: the tail reads as zeroes.
                Add(result, new ChainExtent(Math.Max(start, inBacking), end - Math.Max(start, inBacking), ExtentKind.Unallocated, depth + 1));
            }
            else
            {
                Add(result, new ChainExtent(start, end - start, extent.Kind, depth));
            }
        }
    }

    /// <summary>
    /// The extents of <paramref name="image"/> alone (no backing file) covering exactly <c>[offset, offset + length)</c>,
    /// in order, each clipped to the range asked for, so a faulty driver cannot make a caller loop or skip bytes.
    /// </summary>
    internal static IEnumerable<Extent> LayerExtents(IDiskImage image, long offset, long length)
    {
        if (length <= 0)
        {
            yield break;
        }

        var covered = offset;
        foreach (var extent in image.GetExtents(offset, length))
        {
            var start = Math.Max(extent.Offset, covered);
            var end = Math.Min(extent.End, offset + length);
            if (end <= start)
            {
                continue;
            }

            if (start > covered)
            {
                throw new InvalidImageException($"Block status of '{image.FilePath}' left a gap at offset {covered}");
            }

            yield return new Extent(start, end - start, extent.Kind);
            covered = end;
        }

        if (covered < offset + length)
        {
            throw new InvalidImageException($"Block status of '{image.FilePath}' stopped short at offset {covered}");
        }
    }

    private static void Add(List<ChainExtent> extents, ChainExtent extent)
    {
        if (extent.Length <= 0)
        {
            return;
        }

        if (extents.Count > 0)
        {
            var last = extents[^1];
            if (last.Kind == extent.Kind && last.Depth == extent.Depth && last.End == extent.Offset)
            {
                extents[^1] = last with { Length = last.Length + extent.Length };
                return;
            }
        }

        extents.Add(extent);
    }
}
