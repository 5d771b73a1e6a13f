using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Opens the external data file of a qcow2 image (incompatible feature bit 2): the file the header's data file
/// extension names, or the one <c>data-file.filename</c> names instead, checked and locked as QEMU's qcow2 driver does.
/// </summary>
internal static class Qcow2DataFile
{
    /// <summary>The runtime option (<c>--image-opts</c>, <c>json:</c>) that names the data file in place of the header's name.</summary>
    public const string FilenameOption = "data-file.filename";

    /// <summary>Internal: the data file is a raw node over its file (which then sees the raw driver's read and write events).</summary>
    public const string RawNodeOption = "data-file.x-raw-node";

    /// <summary>Internal: a blkdebug node sits between the data file's node and its file.</summary>
    public const string BlkdebugOption = "data-file.x-blkdebug";

    /// <summary>Internal: the blkdebug node's rules file.</summary>
    public const string BlkdebugConfigOption = "data-file.x-blkdebug-config";

    /// <summary>Internal: the blkdebug node's <c>inject-error.*</c>/<c>set-state.*</c> options follow this prefix.</summary>
    public const string BlkdebugRulePrefix = "data-file.x-blkdebug-rule.";

    /// <summary>
    /// The data file for an image being opened; null when the image has none, and when it is opened for its metadata
    /// only (qemu-img info opens no data file). Errors are QEMU's, in its order.
    /// </summary>
    public static IStorage? Open(IStorage imageFile, Qcow2Header header, ImageOpenOptions options)
    {
        if (options.MetadataOnly)
        {
            return null;
        }

        options.FormatOptions.TryGetValue(FilenameOption, out var named);
        if (!header.HasDataFile)
        {
            if (named is not null)
            {
                throw new InvalidOptionException("'data-file' can only be set for images with an external data file");
            }

            if (header.DataFileRaw)
            {
                throw new InvalidImageException("data-file-raw requires a data file");
            }

            return null;
        }

        // As QEMU, a name (from the header or the options) is opened as given: relative to the working directory.
        var path = named ?? header.DataFile ?? throw new InvalidOptionException("'data-file' is required for this image");
        if (!options.ReadOnly && IsSameFile(imageFile.Path, path))
        {
            // QEMU fails on its own locks here; without locks both would be written through each other.
            throw new ImageAccessException($"The external data file '{path}' is the image file itself");
        }

        var file = Storage.Open(path, !options.ReadOnly, LockFor(options, path));
        try
        {
            return Stack(file, options.FormatOptions);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The nodes a <c>json:</c> name put over the data file: a blkdebug node, then a raw node, as asked.</summary>
    private static IStorage Stack(IStorage file, IReadOnlyDictionary<string, string> options)
    {
        if (options.ContainsKey(BlkdebugOption))
        {
            options.TryGetValue(BlkdebugConfigOption, out var config);
            var rules = options.Where(o => o.Key.StartsWith(BlkdebugRulePrefix, StringComparison.Ordinal))
                .Select(o => new KeyValuePair<string, string>(o.Key[BlkdebugRulePrefix.Length..], o.Value));
            file = new IO.Blkdebug.BlkdebugStorage(file, IO.Blkdebug.BlkdebugRules.Load(config, rules));
        }

        return options.ContainsKey(RawNodeOption) ? new IO.Blkdebug.BlkdebugRawNode(file) : file;
    }

    /// <summary>
    /// QEMU's permissions on a data child: those of the image file (consistent read; write and resize when writable),
    /// but others may still write it; only resizing is refused to them.
    /// </summary>
    private static LockRequest? LockFor(ImageOpenOptions options, string path)
    {
        if (options.LockFor(path, formatOwnsFile: true) is not { } request)
        {
            return null;
        }

        var shared = options.ForceShare ? LockPermissions.All : options.SharedPermissions & ~LockPermissions.Resize;
        return request with { Shared = shared };
    }

    private static bool IsSameFile(string imagePath, string dataPath) =>
        File.Exists(dataPath) && FileIdentity.Of(imagePath) is { } image && FileIdentity.Of(dataPath) == image;
}
