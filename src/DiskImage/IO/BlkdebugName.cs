namespace DiskImage.IO;

/// <summary>
/// QEMU's debug driver named as a protocol: <c>blkdebug:CONFIG:PATH</c>. Without a rules file (<c>blkdebug::PATH</c>)
/// the driver passes every request through unchanged, which is what is done here; its <c>align</c> option only
/// changes how QEMU splits requests internally (<see cref="CheckAlign"/>). Rule files inject faults, which this
/// library does not do, so one is refused rather than ignored.
/// </summary>
internal static class BlkdebugName
{
    private const string Prefix = "blkdebug:";

    /// <summary>Whether <paramref name="name"/> is written as a <c>blkdebug:</c> name.</summary>
    public static bool IsBlkdebug(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The image path inside a <c>blkdebug:CONFIG:PATH</c> name; a missing path or a rules file is refused in qemu's words.</summary>
    public static string ImagePath(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var spec = name[Prefix.Length..];
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new InvalidOptionException("blkdebug requires both config file and image path");
        }

        var config = spec[..colon];
        if (config.Length > 0)
        {
            throw File.Exists(config)
                ? new UnsupportedFeatureException("blkdebug rules (a config file) are not supported")
                : new ImageAccessException("Could not read blkdebug config file: No such file or directory");
        }

        return spec[(colon + 1)..];
    }

    /// <summary>
    /// qemu's check of the <c>align</c> option (a power of two below 2^31, or 0 for none); the message for a bad value, else null.
    /// </summary>
    public static string? CheckAlign(long align) =>
        align == 0 || (align > 0 && align < int.MaxValue && (align & (align - 1)) == 0) ? null : $"Cannot meet constraints with align {align}";
}
