using DiskImage.IO;
using DiskImage.Operations;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// Builds an ISO 9660 image (ISO names, optional Rock Ridge and Joliet trees, El Torito entries)
/// from host directories, host files and in-memory entries. Only the tree's metadata is held in
/// memory; file contents are streamed into the image when it is written.
/// </summary>
public sealed class IsoBuilder
{
    private readonly IsoBuildNode _root;

    /// <summary>Starts an empty image with an empty root directory.</summary>
    /// <param name="options">Volume identifiers, extensions and timestamps of the image.</param>
    public IsoBuilder(IsoBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _root = new IsoBuildNode { Name = "", Kind = IsoNodeKind.Directory, Mode = 0b111_101_101 };
        var now = options.SourceDateEpoch ?? DateTimeOffset.UtcNow;
        _root.ModificationTime = now;
        _root.AccessTime = now;
    }

    /// <summary>The options the builder was made with.</summary>
    public IsoBuildOptions Options { get; }

    internal IsoBuildNode Root => _root;

    /// <summary>Adds the contents of a host directory under <paramref name="isoPath"/> (genisoimage grafts directories this way). Symlinks are kept as links.</summary>
    public void AddDirectoryTree(string hostDirectory, string isoPath = "/")
    {
        ArgumentNullException.ThrowIfNull(hostDirectory);
        if (!Directory.Exists(hostDirectory))
        {
            throw new ImageAccessException($"Could not open '{hostDirectory}': No such directory");
        }

        var target = EnsureDirectory(isoPath);
        Describe(target, hostDirectory);
        var pending = new Stack<(string Host, IsoBuildNode Node)>();
        pending.Push((hostDirectory, target));
        while (pending.Count > 0)
        {
            var (host, node) = pending.Pop();
            var entries = Directory.GetFileSystemEntries(host, "*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false });
            Array.Sort(entries, StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                var name = Path.GetFileName(entry);
                var info = new FileInfo(entry);
                IsoBuildNode child;
                if (info.LinkTarget is { } linkTarget)
                {
                    child = new IsoBuildNode { Name = name, Kind = IsoNodeKind.Symlink, SymlinkTarget = linkTarget, Mode = 0b111_111_111 };
                }
                else if (Directory.Exists(entry))
                {
                    child = node.Children.TryGetValue(name, out var existing) && existing.Kind == IsoNodeKind.Directory
                        ? existing
                        : new IsoBuildNode { Name = name, Kind = IsoNodeKind.Directory };
                    pending.Push((entry, child));
                }
                else
                {
                    child = new IsoBuildNode { Name = name, Kind = IsoNodeKind.File, HostPath = entry, Size = info.Length };
                }

                Describe(child, entry);
                Attach(node, child);
            }
        }
    }

    /// <summary>Adds one host file at <paramref name="isoPath"/>.</summary>
    public void AddFile(string isoPath, string hostPath)
    {
        ArgumentNullException.ThrowIfNull(hostPath);
        var info = new FileInfo(hostPath);
        if (!info.Exists)
        {
            throw new ImageAccessException($"Could not open '{hostPath}': No such file");
        }

        var (parent, name) = ParentOf(isoPath);
        var node = new IsoBuildNode { Name = name, Kind = IsoNodeKind.File, HostPath = hostPath, Size = info.Length };
        Describe(node, hostPath);
        Attach(parent, node);
    }

    /// <summary>Adds a file with in-memory content.</summary>
    public void AddFile(string isoPath, byte[] content, uint mode = 0b110_100_100, DateTimeOffset? modificationTime = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        var (parent, name) = ParentOf(isoPath);
        var time = Clamp(modificationTime ?? Options.SourceDateEpoch ?? DateTimeOffset.UtcNow);
        Attach(parent, new IsoBuildNode
        {
            Name = name, Kind = IsoNodeKind.File, Content = content, Size = content.Length, Mode = mode,
            ModificationTime = time, AccessTime = time,
        });
    }

    /// <summary>Adds an empty directory (and any missing parents).</summary>
    public void AddDirectory(string isoPath, uint mode = 0b111_101_101) => EnsureDirectory(isoPath).Mode = mode;

    /// <summary>Adds a symbolic link.</summary>
    public void AddSymlink(string isoPath, string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (parent, name) = ParentOf(isoPath);
        var time = Clamp(Options.SourceDateEpoch ?? DateTimeOffset.UtcNow);
        Attach(parent, new IsoBuildNode
        {
            Name = name, Kind = IsoNodeKind.Symlink, SymlinkTarget = target, Mode = 0b111_111_111,
            ModificationTime = time, AccessTime = time,
        });
    }

    /// <summary>
    /// Writes the image to a new file, whole or absent: it is built under a temporary name beside
    /// <paramref name="outputPath"/> and renamed into place after the last byte. An output that is one of the
    /// files going into the image is refused before anything is written.
    /// </summary>
    /// <param name="outputPath">The image file to create.</param>
    /// <param name="progress">Counts bytes of the image laid down of its whole size.</param>
    /// <param name="cancellationToken">Stops the build; nothing is then left under either name.</param>
    public void Build(string outputPath, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outputPath);
        var layout = IsoLayout.Create(this);
        InputOverlap.EnsureDistinct(outputPath, layout.Files.Where(f => f.HostPath is not null).Select(f => f.HostPath!));
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            using var partial = PartialOutput.Begin(outputPath);
            using (var output = new FileStream(partial.WritePath, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 16))
            {
                new IsoImageWriter(layout, cancellationToken, progress).Write(output);
            }

            partial.Commit(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageAccessException($"Could not write '{outputPath}': {e.Message}", e);
        }
    }

    /// <summary>Writes the image to a stream, sequentially (seeking only to skip zero runs when the stream can seek).</summary>
    /// <param name="output">Where the image goes, from its current position.</param>
    /// <param name="progress">Counts bytes of the image laid down of its whole size.</param>
    /// <param name="cancellationToken">Stops the build, leaving the stream partly written.</param>
    public void Build(Stream output, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var layout = IsoLayout.Create(this);
        new IsoImageWriter(layout, cancellationToken, progress).Write(output);
    }

    internal IsoBuildNode? Find(string isoPath)
    {
        var node = _root;
        foreach (var part in Split(isoPath))
        {
            if (!node.Children.TryGetValue(part, out node))
            {
                return null;
            }
        }

        return node;
    }

    private void Describe(IsoBuildNode node, string hostPath)
    {
        var info = new FileInfo(hostPath);
        if (node.Kind != IsoNodeKind.Symlink && !OperatingSystem.IsWindows())
        {
            node.Mode = (uint)File.GetUnixFileMode(hostPath);
        }

        if (HostOwnership.Get(hostPath) is { } owner)
        {
            node.Uid = owner.Uid;
            node.Gid = owner.Gid;
        }

        var modified = Clamp(new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero));
        node.ModificationTime = modified;
        node.AccessTime = Options.SourceDateEpoch is null ? Clamp(new DateTimeOffset(info.LastAccessTimeUtc, TimeSpan.Zero)) : modified;
    }

    private DateTimeOffset Clamp(DateTimeOffset time) =>
        Options.SourceDateEpoch is { } epoch && time > epoch ? epoch : time;

    private (IsoBuildNode Parent, string Name) ParentOf(string isoPath)
    {
        var parts = Split(isoPath);
        if (parts.Length == 0)
        {
            throw new InvalidOptionException($"'{isoPath}' is not a file path inside the image");
        }

        var parent = EnsureDirectory(string.Join('/', parts[..^1]));
        return (parent, parts[^1]);
    }

    private IsoBuildNode EnsureDirectory(string isoPath)
    {
        var node = _root;
        foreach (var part in Split(isoPath))
        {
            if (!node.Children.TryGetValue(part, out var child))
            {
                child = new IsoBuildNode { Name = part, Kind = IsoNodeKind.Directory, Mode = 0b111_101_101, ModificationTime = _root.ModificationTime, AccessTime = _root.AccessTime };
                Attach(node, child);
            }
            else if (child.Kind != IsoNodeKind.Directory)
            {
                throw new InvalidOptionException($"'{child.Path}' is not a directory");
            }

            node = child;
        }

        return node;
    }

    private static void Attach(IsoBuildNode parent, IsoBuildNode child)
    {
        if (parent.Children.TryGetValue(child.Name, out var existing) && !ReferenceEquals(existing, child))
        {
            if (existing.Kind == IsoNodeKind.Directory && child.Kind == IsoNodeKind.Directory)
            {
                return;
            }

            throw new InvalidOptionException($"'{existing.Path}' is added twice");
        }

        child.Parent = parent;
        parent.Children[child.Name] = child;
    }

    private static string[] Split(string isoPath)
    {
        ArgumentNullException.ThrowIfNull(isoPath);
        var parts = isoPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            if (part is "." or ".." || part.Contains('\0', StringComparison.Ordinal))
            {
                throw new InvalidOptionException($"'{isoPath}' is not a valid path inside the image");
            }
        }

        return parts;
    }
}
