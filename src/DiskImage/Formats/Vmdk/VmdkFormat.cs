namespace DiskImage.Formats.Vmdk;

/// <summary>
/// The VMDK format: monolithic and split, sparse and flat, stream-optimized, ESX vmfs/vmfsSparse and
/// seSparse (the last three read-only), with parent links as backing files.
/// </summary>
public sealed class VmdkFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static VmdkFormat Instance { get; } = new();

    private VmdkFormat() { }

    /// <inheritdoc/>
    public string Name => "vmdk";

    /// <inheritdoc/>
    public int ProbeHeaderSize => 512;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public bool SupportsCompression => true;

    /// <summary>A sparse header magic (KDMV or COWD), or a descriptor's <c>version=</c> line after blanks and comments.</summary>
    public int Probe(ReadOnlySpan<byte> header, long fileLength)
    {
        if (header.Length < 4)
        {
            return 0;
        }

        return VmdkSparseHeader.HasMagic(header) || VmdkCowdHeader.HasMagic(header) || VmdkDescriptor.LooksLikeDescriptor(header) ? 100 : 0;
    }

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return VmdkImage.Open(path, options);
    }

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        VmdkCreator.Create(path, options as VmdkCreateOptions ?? VmdkOptionParser.FromCommon(options));
    }

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        VmdkOptionParser.Parse(size, options);
}
