namespace DiskImage.IO.Blkdebug;

/// <summary>
/// QEMU's debug driver named as a protocol: <c>blkdebug:CONFIG:PATH</c>, where CONFIG is a rules file (or empty for
/// none) and PATH the image's file. Its <c>align</c> option only changes how QEMU splits requests internally
/// (<see cref="CheckAlign"/>).
/// </summary>
internal static class BlkdebugName
{
    private const string Prefix = "blkdebug:";

    /// <summary>Whether <paramref name="name"/> is written as a <c>blkdebug:</c> name.</summary>
    public static bool IsBlkdebug(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The rules file (null when empty) and image path of a <c>blkdebug:CONFIG:PATH</c> name; a missing path is refused in qemu's words.</summary>
    public static (string? ConfigPath, string ImagePath) Split(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var spec = name[Prefix.Length..];
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new InvalidOptionException("blkdebug requires both config file and image path");
        }

        return (colon == 0 ? null : spec[..colon], spec[(colon + 1)..]);
    }

    /// <summary>
    /// The <c>json:</c> name of the node <c>-f blkdebug NAME</c> opens: a <c>blkdebug:CONFIG:PATH</c> name gives its
    /// rules file and image; any other name is the image itself (QEMU's <c>x-image</c>), probed under the node.
    /// </summary>
    public static string TopNodeJson(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var (config, path) = IsBlkdebug(name) ? Split(name) : (null, name);
        return Options.JsonFilename.Prefix + Options.QemuJson.Object([
            new("driver", Options.QemuJson.String("blkdebug")),
            new("config", config is null ? null : Options.QemuJson.String(config)),
            new("x-image", Options.QemuJson.String(path)),
        ], ordered: true);
    }

    /// <summary>The image path inside a <c>blkdebug:CONFIG:PATH</c> name.</summary>
    public static string ImagePath(string name) => Split(name).ImagePath;

    /// <summary>
    /// qemu's check of the <c>align</c> option (a power of two below 2^31, or 0 for none); the message for a bad value, else null.
    /// </summary>
    public static string? CheckAlign(long align) =>
        align == 0 || (align > 0 && align < int.MaxValue && (align & (align - 1)) == 0) ? null : $"Cannot meet constraints with align {align}";
}
