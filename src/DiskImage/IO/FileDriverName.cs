namespace DiskImage.IO;

/// <summary>
/// A <c>filename</c> given in a node's options (<c>json:</c>, <c>--image-opts</c>) for the file driver, or for a node
/// without a driver. QEMU parses a protocol out of a name only when the name stands alone, so there an
/// <c>nfs://</c>, <c>ssh://</c> or <c>nbd://</c> name is a path of the host's file system, which hardly ever exists.
/// </summary>
internal static class FileDriverName
{
    /// <summary>
    /// The name to open as a host file: <paramref name="name"/> itself, or, where it would be read as a URL, the same
    /// path made relative (<c>./</c>) when such a file exists, else QEMU's open failure.
    /// </summary>
    /// <exception cref="ImageAccessException">A URL-like name that is no file here.</exception>
    public static string Of(string name)
    {
        if (!Nfs.NfsUrl.IsNfs(name) && !Options.SshNode.IsSshUri(name) && !Nbd.Client.NbdUri.IsNbd(name))
        {
            return name;
        }

        var asPath = "./" + name;
        return File.Exists(asPath) || Directory.Exists(asPath) ? asPath
            : throw new ImageAccessException($"Could not open '{name}': {ErrnoText.Strerror(2)}");
    }
}
