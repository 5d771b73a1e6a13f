using DiskImage.Formats;

namespace DiskImage.Operations.Map;

/// <summary>
/// <c>qemu-img map</c>: walks the image's guest range asking the backing chain which layer holds each
/// run, and merges neighbouring runs exactly as qemu-img does.
/// </summary>
public static class ImageMapper
{
    /// <summary>
    /// False for a <c>host_cdrom</c> drive without a disc (named with <c>-f host_cdrom</c> or its prefix): the image has
    /// no size to map then (qemu-img: <c>Failed to get size for 'NAME'</c>), and <see cref="Map"/> refuses it.
    /// </summary>
    public static bool HasMedium(IDiskImage image) =>
        !Formats.Raw.RawImage.LacksMedium(image is IO.Blkdebug.BlkdebugImage filter ? filter.Image : image);

    /// <summary>The merged runs; an empty window yields one zero-length entry at the start, as qemu-img prints.</summary>
    public static IReadOnlyList<MapEntry> Map(IDiskImage image, MapOptions options)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        if (options.StartOffset < 0 || options.MaxLength < 0)
        {
            throw new InvalidOptionException("The start offset and the maximum length must not be negative");
        }

        // As qemu-img, map looks past a filter node above the format (a blkdebug node's rules do not apply to it).
        if (image is IO.Blkdebug.BlkdebugImage filter)
        {
            image = filter.Image;
        }

        if (!HasMedium(image))
        {
            throw new ErrnoException(ErrnoException.ENOMEDIUM, ErrnoException.Text(ErrnoException.ENOMEDIUM));
        }

        var end = image.Length;
        if (options.MaxLength is { } maxLength && options.StartOffset <= long.MaxValue - maxLength)
        {
            end = Math.Min(end, options.StartOffset + maxLength);
        }

        var entries = new List<MapEntry>();
        var current = new MapEntry(options.StartOffset, 0, 0, false, false, false, null, null);
        while (current.Start + current.Length < end)
        {
            var offset = current.Start + current.Length;
            var next = ChainExtents.StatusAt(image, offset, end - offset);
            if (current.CanMerge(next))
            {
                current = current with { Length = current.Length + next.Length };
                continue;
            }

            if (current.Length > 0)
            {
                entries.Add(current);
            }

            current = next;
        }

        entries.Add(current);
        return entries;
    }
}
