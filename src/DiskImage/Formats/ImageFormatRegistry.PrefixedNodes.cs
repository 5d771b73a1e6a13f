namespace DiskImage.Formats;

/// <summary>
/// Names whose protocol prefix picks a driver that is not a file on this host's file system (<c>null-co://</c>,
/// <c>null-aio://</c>) or a host driver other than <c>file</c> (<c>host_device:PATH</c>, <c>host_cdrom:PATH</c>).
/// QEMU opens that protocol node and the image format over it: the one given with <c>-f</c>, else the one probed
/// from the node's bytes.
/// </summary>
public sealed partial class ImageFormatRegistry
{
    /// <summary>
    /// Opens <paramref name="name"/> as the node its <paramref name="protocol"/> prefix names, with the format over it;
    /// null when the prefix is none of these, so the caller opens the name as before.
    /// </summary>
    private IDiskImage? OpenPrefixedNode(string name, string protocol, string? formatName, ImageOpenOptions options)
    {
        switch (protocol)
        {
            case "null-co" or "null-aio":
                if (name != protocol + "://")
                {
                    throw new InvalidImageException($"The only allowed filename for this driver is '{protocol}://'");
                }

                // A null node reads as zeroes, which QEMU's probe takes for raw.
                return (formatName is null ? Get("raw") : Get(formatName)).Open(name, options with
                {
                    FileNode = (outer, _) => new Null.NullStorage(name, Null.NullFormat.DefaultSize, readZeroes: false, !outer.ReadOnly),
                    FormatWasProbed = formatName is null,
                });

            case "host_device" or "host_cdrom":
                // The driver takes the rest of the name as a host path, which the image is then named by.
                var path = name[(protocol.Length + 1)..];
                CheckProtocolFile(protocol, path, options.ReadOnly);
                var format = formatName is null ? Probe(path) : Get(formatName);
                return format.Open(path, options with
                {
                    FileNode = (outer, _) => new Raw.ImageStorage(Raw.ProtocolFormat.ForHostDriver(protocol).Open(path, outer with
                    {
                        FileNode = null,
                        Window = null,
                        StackedDisplayName = null,
                        FormatWasProbed = false,
                    })),
                    FormatWasProbed = formatName is null,
                });

            default:
                return null;
        }
    }
}
