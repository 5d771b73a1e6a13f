using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2;

/// <summary>The qcow2 format (versions 2 and 3): detection, open, create and qemu-img style options.</summary>
public sealed class Qcow2Format : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static Qcow2Format Instance { get; } = new();

    private Qcow2Format() { }

    /// <inheritdoc/>
    public string Name => "qcow2";

    /// <inheritdoc/>
    public int ProbeHeaderSize => MinimumProbeLength;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public bool SupportsCompression => true;

    /// <summary>
    /// Claims every file with the magic, whatever its version: a version this library cannot open must
    /// be refused as such (as QEMU does), never silently read as a raw disk holding a qcow header.
    /// </summary>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) =>
        // As QEMU: version 1 shares the magic and belongs to the qcow driver.
        header.Length >= MinimumProbeLength && BinaryPrimitives.ReadUInt32BigEndian(header) == Qcow2Constants.Magic
        && BinaryPrimitives.ReadUInt32BigEndian(header[4..]) >= 2 ? 100 : 0;

    /// <summary>
    /// QEMU recognises the magic only in a file holding a whole version-2 header (72 bytes); anything shorter is raw.
    /// Version 1 (QEMU's older qcow format) is claimed too, so it is refused with its version, never read as raw.
    /// </summary>
    private const int MinimumProbeLength = 72;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Qcow2Image.Open(path, options);
    }

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Qcow2Creator.Create(path, options as Qcow2CreateOptions ?? Qcow2OptionParser.FromCommon(options));
    }

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        Qcow2OptionParser.Parse(size, options);
}
