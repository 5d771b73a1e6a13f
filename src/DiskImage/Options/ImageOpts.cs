namespace DiskImage.Options;

/// <summary>
/// qemu-img's <c>--image-opts</c> form of a file name:
/// <c>driver=qcow2,file.filename=PATH,encrypt.key-secret=ID[,backing.encrypt.key-secret=ID]</c>, plus the raw
/// driver's <c>offset</c>/<c>size</c>, <c>force-share</c>, <c>file.locking</c> and <c>backing=</c> (see <see cref="BlockSpec"/>).
/// </summary>
public sealed record ImageOpts
{
    /// <summary><c>driver</c>: the format, or null to probe it.</summary>
    public string? Driver { get; init; }

    /// <summary><c>file.filename</c> (or <c>filename</c>): the image file.</summary>
    public required string Filename { get; init; }

    /// <summary><c>encrypt.key-secret</c> (or <c>backing.encrypt.key-secret</c>): id of the secret that unlocks the image and its backing files.</summary>
    public string? KeySecret { get; init; }

    /// <summary>
    /// The name to open the image by: the file name when the list says no more than driver, file and key
    /// secret; otherwise the equivalent <c>json:</c> file name, which carries the raw window and the locking options.
    /// </summary>
    public string OpenName { get; init; } = "";

    /// <summary>Parses the option list, refusing keys that are not understood, in qemu-img's words.</summary>
    public static ImageOpts Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // As QEMU's option list for images, a first element without '=' is the value of the implied key "file".
        if (!FirstElement(text).Contains('=', StringComparison.Ordinal))
        {
            text = "file=" + text;
        }

        // Filter nodes on top (copy-on-read, compress) are read as in a json: name: the node under them is checked
        // here, and the whole list travels as the equivalent json: name to whoever applies the filters.
        var peeled = FilterNodes.Peel<string>([.. KeyValueOptions.Parse([text])], v => v, v => v);
        var spec = BlockSpec.FromOptions(peeled.Options.Select(o => new KeyValuePair<string, JsonScalar>(o.Key, JsonScalar.String(o.Value))));
        // A blkdebug node above the format travels as its json: name too, so that what reports on the node (info) sees it.
        var nodeAbove = spec.TopBlkdebugName is not null;
        return new ImageOpts
        {
            Driver = peeled.HadFilters || nodeAbove ? null : spec.Driver,
            Filename = spec.Filename,
            KeySecret = spec.KeySecret,
            OpenName = spec.IsPlain && !peeled.HadFilters && !nodeAbove ? spec.Filename : BlockSpec.DottedToJsonName(text),
        };
    }

    /// <summary>The list up to its first separating comma (a doubled comma is an escaped one).</summary>
    private static string FirstElement(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == ',')
            {
                if (i + 1 < text.Length && text[i + 1] == ',')
                {
                    i++;
                    continue;
                }

                return text[..i];
            }
        }

        return text;
    }
}
