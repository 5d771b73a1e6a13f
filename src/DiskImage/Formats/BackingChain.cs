using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>The checks a format makes before it opens its backing file: the chain is bounded and never loops.</summary>
internal static class BackingChain
{
    /// <summary>The most images a chain may hold above the one being opened.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// The chain the backing file of <paramref name="path"/> opens under: the images above it, then
    /// <paramref name="path"/>. A chain past <see cref="MaxDepth"/>, or a backing file already in it, is refused.
    /// </summary>
    public static List<string> Extend(string path, string backingPath, ImageOpenOptions options)
    {
        var chain = options.OpeningChain.Append(Path.GetFullPath(path)).ToList();
        if (chain.Count >= MaxDepth)
        {
            throw new InvalidImageException($"Backing chain of '{path}' is too deep (more than {MaxDepth} images)");
        }

        // By name, and by device and inode so that a hard link or symlink back into the chain is a loop too.
        if (chain.Contains(Path.GetFullPath(backingPath))
            || (FileIdentity.Of(backingPath) is { } backingIdentity && chain.Any(p => FileIdentity.Of(p) == backingIdentity)))
        {
            throw new InvalidImageException($"Backing chain of '{path}' loops back to '{backingPath}'");
        }

        return chain;
    }

    /// <summary>
    /// The path a backing file name stands for as <c>info</c> shows it ("actual path"), or null when there is no
    /// backing file or the name cannot be resolved: a relative name over an NBD export or a quorum node has no
    /// directory to resolve against (QEMU's wording: "cannot determine actual path").
    /// </summary>
    public static string? FullBackingPath(IStorage file, string? backingName) =>
        backingName is null || ((Nbd.Client.NbdUri.IsNbd(file.Path) || file is IO.Quorum.QuorumStorage) && !Path.IsPathRooted(backingName))
            ? null : Qcow2.Qcow2Image.ResolveBackingPath(file.Path, backingName);
}
