namespace DiskImage.Formats.Vmdk;

/// <summary>
/// Resolves the file names a descriptor gives its extents as QEMU does (an absolute name as it is, any other
/// relative to the descriptor's directory), and refuses names that would leave that directory: a descriptor
/// must not make the reader open (or, for writes, modify) arbitrary files. QEMU has no such limit; a caller
/// who trusts the descriptor lifts it with <see cref="ImageOpenOptions.TrustExtentPaths"/>.
/// </summary>
internal static class VmdkExtentPaths
{
    /// <summary>The path the extent is opened with: the descriptor's directory as given, plus the name.</summary>
    public static string Resolve(string descriptorPath, string fileName, bool trusted = false)
    {
        if (fileName.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidImageException($"Extent file name '{fileName}' is not valid");
        }

        var slash = descriptorPath.LastIndexOf('/');
        var directory = slash < 0 ? "" : descriptorPath[..(slash + 1)];
        if (Path.IsPathRooted(fileName))
        {
            if (trusted)
            {
                return fileName;
            }

            var full = Path.GetFullPath(fileName);
            var root = Path.GetFullPath(directory.Length == 0 ? "." : directory);
            if (!IsInside(root, full))
            {
                throw new InvalidImageException($"Extent file '{fileName}' lies outside the directory of '{descriptorPath}'; refused (option trust-extent-paths=on allows it)");
            }

            return fileName;
        }

        var combined = directory + fileName;
        if (trusted)
        {
            return combined;
        }

        var rootDirectory = Path.GetFullPath(directory.Length == 0 ? "." : directory);
        if (!IsInside(rootDirectory, Path.GetFullPath(combined)))
        {
            throw new InvalidImageException($"Extent file '{fileName}' lies outside the directory of '{descriptorPath}'; refused (option trust-extent-paths=on allows it)");
        }

        return combined;
    }

    private static bool IsInside(string directory, string path)
    {
        var prefix = directory.EndsWith('/') ? directory : directory + "/";
        return path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length;
    }
}
