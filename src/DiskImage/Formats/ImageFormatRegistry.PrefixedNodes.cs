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
                    FileNode = (outer, _) => HostDriverNode(protocol, path, format.Name, outer with
                    {
                        FileNode = null,
                        Window = null,
                        StackedDisplayName = null,
                        FormatWasProbed = false,
                    }),
                    FormatWasProbed = formatName is null,
                });

            case "blkverify":
                return OpenBlkverify(name, formatName, options);

            default:
                return null;
        }
    }

    /// <summary>
    /// The device driver's node under <paramref name="formatName"/>; a drive without a disc under a format other than
    /// raw fails as that format's first read of it fails in QEMU.
    /// </summary>
    private static IO.IStorage HostDriverNode(string protocol, string path, string formatName, ImageOpenOptions options)
    {
        var node = Raw.ProtocolFormat.ForHostDriver(protocol).Open(path, options);
        // Checks that need no read come first: a read-only format opened for writing, luks without its key (info
        // opens it without one).
        var refusedBeforeReading = (formatName is "bochs" or "cloop" or "dmg" && !options.ReadOnly)
            || (formatName == "luks" && options.KeySecret is null && !options.MetadataOnly);
        if (!refusedBeforeReading && Raw.RawImage.LacksMedium(node) && Raw.NoMediumRefusal.For(formatName, path, node.Length) is { } refusal)
        {
            node.Dispose();
            throw new InvalidImageException(refusal);
        }

        return new Raw.ImageStorage(node);
    }

    /// <summary>
    /// A <c>blkverify:RAW:TEST</c> node: the raw copy opened as a plain file, the image under test in its probed
    /// format, and the format given (or probed from the node's bytes) over the pair; <c>-f blkverify</c> makes the
    /// node itself the image.
    /// </summary>
    private IDiskImage OpenBlkverify(string name, string? formatName, ImageOpenOptions options)
    {
        var (rawName, testName) = IO.Blkverify.BlkverifyName.Parse(name);
        var inner = options with { FileNode = null, Window = null, StackedDisplayName = null };
        IO.IStorage? node = IO.Storage.Open(rawName, !options.ReadOnly, options.LockFor(rawName, formatOwnsFile: false));
        try
        {
            // The image under test is named as any image is: a plain file probed, a protocol prefix picking its
            // driver (file: stripped), and a prefix no driver answers to refused before any open, without its context.
            var test = IO.ProtocolName.Of(testName) switch
            {
                null => Probe(testName).Open(testName, inner with { FormatWasProbed = true }),
                { } protocol when !IO.ProtocolName.IsKnown(protocol) => throw new InvalidOptionException($"Unknown protocol '{protocol}'"),
                _ => Open(testName, null, inner),
            };
            node = new IO.Blkverify.BlkverifyStorage(node, new Raw.ImageStorage(test));
            if (formatName == "blkverify")
            {
                return new Raw.RawImage(node, options with { FormatWasProbed = false }, Get(formatName));
            }

            var format = formatName is null ? Probe(ReadProbeHeader(node), node.Length, null) : Get(formatName);
            var opened = node;
            return format.Open(node.Path, options with { FileNode = (_, _) => opened, FormatWasProbed = formatName is null });
        }
        catch
        {
            node.Dispose();
            throw;
        }
    }

    /// <summary>The first bytes of a node, as many as the probes look at.</summary>
    private byte[] ReadProbeHeader(IO.IStorage node)
    {
        var header = new byte[(int)Math.Min(ProbeHeaderSize, node.Length)];
        node.Read(0, header);
        return header;
    }
}
