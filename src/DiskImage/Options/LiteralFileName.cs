namespace DiskImage.Options;

/// <summary>
/// A file name given as a <c>filename</c> option (in <c>json:</c>, <c>--image-opts</c> or a blkdebug node's
/// <c>image</c>) for the host file drivers. QEMU reads a protocol prefix only from a name given as a plain string: an
/// option goes to the file driver as it is, so <c>ssh://...</c>, <c>nbd://...</c> or <c>file:...</c> there names a
/// local file with that very name, which is normally missing.
/// </summary>
internal static class LiteralFileName
{
    /// <summary>
    /// <paramref name="filename"/> when it opens as the same file either way; a name with a protocol prefix names the
    /// local file of that name, made relative (<c>./</c>) so no later reading takes the prefix, and fails as QEMU's
    /// file driver fails on it when no such file exists.
    /// </summary>
    /// <exception cref="ImageAccessException">The name has a protocol prefix and no local file or directory has it.</exception>
    public static string Check(string filename)
    {
        if (IO.ProtocolName.Of(filename) is null)
        {
            return filename;
        }

        if (File.Exists(filename) || Directory.Exists(filename))
        {
            return "./" + filename;
        }

        throw new ImageAccessException($"Could not open '{filename}': No such file or directory");
    }
}
