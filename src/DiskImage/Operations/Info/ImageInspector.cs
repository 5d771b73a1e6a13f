using DiskImage.Formats;

namespace DiskImage.Operations.Info;

/// <summary><c>qemu-img info</c>: what each image file says about itself, optionally down the backing chain.</summary>
public static class ImageInspector
{
    /// <summary>Backing chains deeper than this are refused as loops (QEMU's limit is similar in spirit).</summary>
    private const int MaxChainDepth = 1000;

    /// <summary>
    /// Info for <paramref name="path"/>, and with <paramref name="backingChain"/> for each backing file
    /// in turn (each opened by the format its overlay names, or probed).
    /// </summary>
    public static IReadOnlyList<ImageInfo> Inspect(string path, string? format, bool backingChain, ImageOpenOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ImageOpenOptions();
        var registry = options.Registry ?? ImageFormatRegistry.Default;
        var result = new List<ImageInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? next = path;
        var nextFormat = format;
        while (next is not null)
        {
            if (!seen.Add(Path.GetFullPath(next)) || result.Count >= MaxChainDepth)
            {
                throw new InvalidImageException($"Backing file '{next}' creates an infinite loop.");
            }

            ImageInfo info;
            using (var image = registry.Open(next, nextFormat, options with { OpenBackingChain = false, MetadataOnly = true, Registry = registry }))
            {
                info = image.GetInfo();
            }

            if (result.Count == 0 && format is null or "blkdebug" && BlkdebugNodeName(format == "blkdebug" && !Options.JsonFilename.IsJson(next) ? IO.Blkdebug.BlkdebugName.TopNodeJson(next) : next) is { } nodeName)
            {
                info = AsBlkdebugNode(info, nodeName);
            }

            result.Add(info);
            if (!backingChain || info.BackingFilename is null)
            {
                break;
            }

            // qemu-img follows the chain by the full name only; a name it cannot resolve ends the listing in an error.
            next = info.FullBackingFilename
                ?? throw new ImageAccessException($"Could not determine absolute backing filename, but backing filename '{info.BackingFilename}' present");
            nextFormat = info.BackingFilenameFormat;
        }

        return result;
    }

    /// <summary>QEMU's name for a <c>blkdebug</c> node above the format that a <c>json:</c> name opens, or null.</summary>
    private static string? BlkdebugNodeName(string path) =>
        path.StartsWith(Options.JsonFilename.Prefix, StringComparison.Ordinal) ? Options.BlockSpec.FromJson(path).TopBlkdebugName : null;

    /// <summary>
    /// What qemu-img reports for a <c>blkdebug</c> node above a format: the node's name and driver, the format's size,
    /// cluster size, dirty flag and snapshots (asked through the filter), and nothing that only the format node itself
    /// carries (disk size, backing file, encryption, format-specific data).
    /// </summary>
    private static ImageInfo AsBlkdebugNode(ImageInfo info, string nodeName) => info with
    {
        Filename = nodeName,
        Format = "blkdebug",
        ActualSize = null,
        Encrypted = false,
        BackingFilename = null,
        FullBackingFilename = null,
        BackingFilenameFormat = null,
        FormatSpecific = null,
    };
}
