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
    /// Claims every file with the magic and a version of 2 or more, whatever the version: one this library cannot open
    /// must be refused as such (as QEMU does), never silently read as a raw disk holding a qcow header. As QEMU, which
    /// probes a zero-padded 2 KiB buffer, the file's length does not matter: bytes past its end count as zeroes, so a
    /// file holding the magic alone (version 0) is raw, version 1 is the qcow driver's, and 8 bytes with a version of 2
    /// or more are a qcow2 header.
    /// </summary>
    public int Probe(ReadOnlySpan<byte> header, long fileLength)
    {
        var magic = header.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(header) : 0;
        var version = header.Length >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(header[4..]) : 0;

        // As QEMU: version 1 shares the magic and belongs to the qcow driver.
        return magic == Qcow2Constants.Magic && version >= 2 ? 100 : 0;
    }

    /// <summary>The magic and the version are all the probe reads.</summary>
    private const int MinimumProbeLength = 8;

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
