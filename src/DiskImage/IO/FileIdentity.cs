namespace DiskImage.IO;

/// <summary>
/// Which file a path names, by device and inode (<c>stat</c>, following symbolic links): two paths name
/// the same file exactly when their identities are equal, whatever the spelling (<c>./x</c>, a symlink,
/// a hard link, <c>/proc/self/fd/N</c>). Where <c>stat</c> is unavailable the fully resolved path stands in.
/// </summary>
public readonly record struct FileIdentity
{
    private readonly ulong _device;
    private readonly ulong _inode;
    private readonly string? _resolvedPath;

    private FileIdentity(ulong device, ulong inode, string? resolvedPath, FileKind kind)
    {
        _device = device;
        _inode = inode;
        _resolvedPath = resolvedPath;
        Kind = kind;
    }

    /// <summary>What kind of file the path names (devices cannot be replaced by a rename).</summary>
    public FileKind Kind { get; }

    /// <summary>Equality is identity; the kind is derived from it.</summary>
    public bool Equals(FileIdentity other) => _device == other._device && _inode == other._inode && _resolvedPath == other._resolvedPath;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_device, _inode, _resolvedPath);

    /// <summary>The file a <c>json:</c> name describes; null when the name does not parse.</summary>
    private static string? TryFileOf(string name)
    {
        try
        {
            return Options.BlockSpec.FromJson(name).Filename;
        }
        catch (DiskImageException)
        {
            return null;
        }
    }

    /// <summary>The identity of the file <paramref name="path"/> names, or null when nothing exists there.</summary>
    public static FileIdentity? Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return null;
        }

        if (Options.JsonFilename.IsJson(path))
        {
            // A json: name is the file it describes, so self-overwrite checks see through it.
            return TryFileOf(path) is { } file ? Of(file) : null;
        }

        if (FileStatCalls.TryStat(path, out var device, out var inode, out var kind))
        {
            return new FileIdentity(device, inode, null, kind);
        }

        if (FileStatCalls.IsAvailable)
        {
            return null;
        }

        // Portable fallback: the path with every symbolic link resolved.
        var info = new FileInfo(path);
        if (!info.Exists && !Directory.Exists(path))
        {
            return null;
        }

        var resolved = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
        return new FileIdentity(0, 0, Path.GetFullPath(resolved), Directory.Exists(resolved) ? FileKind.Directory : FileKind.Regular);
    }
}
