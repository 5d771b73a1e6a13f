namespace DiskImage.Formats;

/// <summary>
/// One image format: how to recognise it, open it and create it. Implementations are stateless
/// singletons registered explicitly in an <see cref="ImageFormatRegistry"/>.
/// </summary>
public interface IImageFormat
{
    /// <summary>The format's name as qemu-img spells it (<c>raw</c>, <c>qcow2</c>, <c>iso</c>).</summary>
    string Name { get; }

    /// <summary>How many leading bytes of a file <see cref="Probe"/> needs to see.</summary>
    int ProbeHeaderSize { get; }

    /// <summary>
    /// How sure the format is that <paramref name="header"/> is its own, 0 (not at all) to 100.
    /// <paramref name="header"/> may be shorter than <see cref="ProbeHeaderSize"/> for short files.
    /// </summary>
    int Probe(ReadOnlySpan<byte> header, long fileLength);

    /// <summary>Whether <see cref="Create"/> is supported.</summary>
    bool CanCreate { get; }

    /// <summary>
    /// Whether images of this format store compressed clusters (their open images implement
    /// <see cref="ICompressedClusterWriter"/>). Asked before a target is created, so <c>-c</c> with a
    /// format that cannot compress fails without touching any file.
    /// </summary>
    bool SupportsCompression => false;

    /// <summary>Whether images of this format can name a backing file (qemu-img refuses <c>-b</c> otherwise).</summary>
    bool SupportsBackingFiles => true;

    /// <summary>Opens an image. The caller owns the result.</summary>
    IDiskImage Open(string path, ImageOpenOptions options);

    /// <summary>Creates a new image file (replacing an existing one), as <c>qemu-img create</c> does.</summary>
    void Create(string path, ImageCreateOptions options);

    /// <summary>
    /// Turns qemu-img style <c>-o key=value</c> options into this format's typed options, refusing
    /// unknown keys and invalid combinations with <see cref="InvalidOptionException"/>.
    /// </summary>
    ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options);
}
