using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// How a format opens its backing file: the chain is bounded and never loops, and an open that fails is reported as
/// qemu-img reports it, after <c>Could not open backing file: </c>.
/// </summary>
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
    /// Opens <paramref name="backingPath"/> as the backing file of <paramref name="path"/> in <paramref name="format"/>
    /// (null: probed), one level further down the chain <see cref="Extend"/> checks. The backing image is read-only
    /// and shares the caller's registry, secrets and display rules (<see cref="ImageOpenOptions.ForBacking"/>).
    /// </summary>
    public static IDiskImage Open(string path, string backingPath, string? format, ImageOpenOptions options)
    {
        var chain = Extend(path, backingPath, options);
        var registry = options.Registry ?? ImageFormatRegistry.Default;
        try
        {
            return registry.Open(backingPath, format, options.ForBacking() with { OpeningChain = chain });
        }
        catch (DiskImageException e)
        {
            e.PrependContext("Could not open backing file: ");
            throw;
        }
    }

    /// <summary>
    /// The path a backing file name stands for as <c>info</c> shows it ("actual path"), or null when there is no
    /// backing file or the name cannot be resolved: a relative name over an NBD export or a quorum node has no
    /// directory to resolve against (QEMU's wording: "cannot determine actual path").
    /// </summary>
    public static string? FullBackingPath(IStorage file, string? backingName) =>
        backingName is null || ((Nbd.Client.NbdUri.IsNbd(file.Path) || file is IO.Quorum.QuorumStorage) && !Path.IsPathRooted(backingName))
            ? null : TryResolveForNode(file.Path, backingName);

    /// <summary>
    /// The backing file an opened image's name stands for, resolved against the image's node as QEMU resolves it
    /// when it opens the chain: beside the image on its SSH server (<see cref="IO.Ssh.SshBackingName"/>), otherwise as
    /// <see cref="Qcow2.Qcow2Image.ResolveBackingPath"/> combines names.
    /// </summary>
    /// <exception cref="ImageAccessException">The image's node has no directory to resolve a relative name in.</exception>
    public static string ResolveForNode(string overlayName, string backingName) =>
        IO.Nfs.NfsBackingName.Applies(overlayName, backingName) ? IO.Nfs.NfsBackingName.Resolve(overlayName, backingName)
            : IO.Ssh.SshBackingName.Applies(overlayName, backingName) ? IO.Ssh.SshBackingName.Resolve(overlayName, backingName)
            : Qcow2.Qcow2Image.ResolveBackingPath(overlayName, backingName);

    /// <summary>As <see cref="ResolveForNode"/>, or null where the node has no directory (an SSH node with a legacy <c>host_key_check</c>).</summary>
    public static string? TryResolveForNode(string overlayName, string backingName) =>
        IO.Nfs.NfsBackingName.Applies(overlayName, backingName) ? IO.Nfs.NfsBackingName.TryResolve(overlayName, backingName)
            : IO.Ssh.SshBackingName.Applies(overlayName, backingName) ? IO.Ssh.SshBackingName.TryResolve(overlayName, backingName)
            : Qcow2.Qcow2Image.ResolveBackingPath(overlayName, backingName);
}
