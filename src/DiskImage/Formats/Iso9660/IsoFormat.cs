using DiskImage.Formats.Raw;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// <c>-f iso</c>: an ISO 9660 image read as the raw bytes it is. It never wins probing (score 0),
/// because QEMU reports ISOs as raw; naming it explicitly opens the file read-only.
/// </summary>
public sealed class IsoFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static IsoFormat Instance { get; } = new();

    private IsoFormat() { }

    /// <inheritdoc/>
    public string Name => "iso";

    /// <inheritdoc/>
    public int ProbeHeaderSize => 0;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 0;

    /// <inheritdoc/>
    public bool CanCreate => false;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.ReadOnly)
        {
            throw new UnsupportedFeatureException("The iso format is read-only; build images with 'diskimg iso create' or write them as raw");
        }

        var image = RawFormat.Instance.Open(path, options with { FormatWasProbed = false });
        try
        {
            // Check it really is an ISO, so '-f iso' on something else fails clearly.
            using (IsoFileSystem.Open(image, leaveOpen: true))
            {
            }

            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options) =>
        throw new UnsupportedFeatureException("The iso format is read-only; build images with 'diskimg iso create'");

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        throw new UnsupportedFeatureException("The iso format is read-only; build images with 'diskimg iso create'");
}
