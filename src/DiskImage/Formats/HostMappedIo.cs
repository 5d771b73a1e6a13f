using System.Globalization;
using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// The request checks and the requests that need no format knowledge, shared by the formats that map guest clusters
/// into their own file (<see cref="IHostMappedImage"/>): range and read-only checks, flush, block status, an ignored
/// discard, and reads that fall through to the backing image.
/// </summary>
internal static class HostMappedIo
{
    /// <summary>Refuses a request that does not lie inside an image of <paramref name="imageLength"/> bytes.</summary>
    public static void CheckRange(long imageLength, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > imageLength - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), string.Create(CultureInfo.InvariantCulture, $"Range {offset}+{length} lies outside the {imageLength}-byte image."));
        }
    }

    /// <summary>Refuses a change to an image opened read-only.</summary>
    public static void CheckWritable(IStorage file)
    {
        if (!file.CanWrite)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }
    }

    /// <summary>A flush reaches the file only when it was opened for writing (a read-only one has nothing to flush).</summary>
    public static void Flush(IStorage file)
    {
        if (file.CanWrite)
        {
            file.Flush();
        }
    }

    /// <summary>A discard of a format that has none: QEMU ignores it and the data stays (a discard is only a hint).</summary>
    public static void IgnoredDiscard(IStorage file, long imageLength, long offset, long length)
    {
        CheckWritable(file);
        CheckRange(imageLength, offset, length);
    }

    /// <summary>Block status of a range of <paramref name="image"/>, checked against its length first.</summary>
    public static IReadOnlyList<Extent> GetExtents(IHostMappedImage image, long imageLength, long offset, long length)
    {
        CheckRange(imageLength, offset, length);
        return IHostMappedImage.ExtentsOf(image, offset, length);
    }

    /// <summary>The backing image's bytes of an unallocated range: zeroes past its end, or all zeroes without one.</summary>
    public static void ReadBacking(IDiskImage? backing, long offset, Span<byte> buffer)
    {
        var inBacking = backing is null ? 0 : (int)Math.Clamp(backing.Length - offset, 0, buffer.Length);
        if (inBacking > 0)
        {
            backing!.Read(offset, buffer[..inBacking]);
        }

        buffer[inBacking..].Clear();
    }
}
