namespace DiskImage.IO.Nfs;

/// <summary>
/// A relative backing file name in an image over NFS, resolved as QEMU 7.2's nfs driver gives its node's directory:
/// <c>nfs://HOST</c> and the node's whole path (the image's own name included) and a slash. (So QEMU looks for the
/// backing file under a directory named after the image, which no server has; the same name is looked up here.)
/// A node with a uid or gid has no directory.
/// </summary>
internal static class NfsBackingName
{
    /// <summary>Whether <paramref name="backingName"/> is resolved against the node of <paramref name="overlayName"/>.</summary>
    public static bool Applies(string overlayName, string backingName) =>
        NfsUrl.IsNfs(overlayName) && !Formats.Qcow2.Qcow2Image.IsAbsoluteName(backingName);

    /// <summary>The name QEMU opens, or null where the node has no directory.</summary>
    public static string? TryResolve(string overlayName, string backingName)
    {
        var target = NfsNode.FromUrl(overlayName);
        return target.HasBaseDirectory ? $"nfs://{target.Host}{target.Path}/{backingName}" : null;
    }

    /// <summary>As <see cref="TryResolve"/>, refusing in QEMU's words where there is no directory.</summary>
    public static string Resolve(string overlayName, string backingName) =>
        TryResolve(overlayName, backingName)
        ?? throw new ImageAccessException($"Cannot generate a base directory for NFS node '{NfsNode.FromUrl(overlayName).NodeName}'");
}
