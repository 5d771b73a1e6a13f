using DiskImage.Operations;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// Writes files, directories and symbolic links from an ISO image into a host directory.
/// Every destination is checked to stay inside the target, existing symbolic links are never written
/// through (files are created exclusively, which does not follow links), and directory attributes
/// are applied after their contents so read-only directories can still be filled. Only what the
/// extraction created gets the image's modes and times: directories that existed keep theirs.
/// </summary>
public static class IsoExtractor
{
    /// <summary>
    /// Extracts and returns the number of nodes written. Cancellation is honoured between files: every file
    /// written is whole, and a file cut short by an error is removed.
    /// </summary>
    /// <param name="iso">The image to extract from.</param>
    /// <param name="options">The target directory and the paths to extract.</param>
    /// <param name="progress">Counts the nodes (files, directories, links) written of those selected.</param>
    /// <param name="cancellationToken">Stops the extraction between files.</param>
    public static int Extract(IsoFileSystem iso, IsoExtractOptions options, IProgress<OperationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(iso);
        ArgumentNullException.ThrowIfNull(options);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.TargetDirectory));
        var session = new Session(iso, options, root, cancellationToken);
        session.EnsureRoot();
        var starts = options.Paths.Count == 0 ? [iso.Root] : options.Paths.Select(p => iso.Find(p)
            ?? throw new InvalidOptionException($"'{p}' does not exist in the image")).ToList();

        // The total takes a walk of the directories alone, made only when someone watches.
        var total = progress is null ? 0 : starts.Sum(s => 1L + (s.Kind == IsoNodeKind.Directory ? iso.Walk(s).LongCount() : 0));
        progress?.Report(new OperationProgress(0, total));
        foreach (var start in starts)
        {
            session.Write(start);
            progress?.Report(new OperationProgress(Math.Min(session.Count, total), total));
            if (start.Kind == IsoNodeKind.Directory)
            {
                foreach (var node in iso.Walk(start))
                {
                    session.Write(node);
                    progress?.Report(new OperationProgress(Math.Min(session.Count, total), total));
                }
            }
        }

        session.FinishDirectories();
        return session.Count;
    }

    private sealed class Session(IsoFileSystem iso, IsoExtractOptions options, string root, CancellationToken cancellationToken)
    {
        private readonly List<(string Path, IsoNode Node)> _directories = [];
        private readonly HashSet<string> _created = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (DateTime Access, DateTime Write)> _existing = new(StringComparer.Ordinal);

        public int Count { get; private set; }

        /// <summary>Creates the target directory, or remembers the times of the one that is there.</summary>
        public void EnsureRoot() => EnsureDirectory(root);

        public void Write(IsoNode node)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var destination = Destination(node.Path);
            if (destination != root)
            {
                EnsureParents(destination);
            }

            switch (node.Kind)
            {
                case IsoNodeKind.Directory:
                    EnsureDirectory(destination);
                    _directories.Add((destination, node));
                    break;
                case IsoNodeKind.Symlink:
                    RemoveNonDirectory(destination);
                    File.CreateSymbolicLink(destination, node.SymlinkTarget ?? "");
                    break;
                default:
                    WriteFile(destination, node);
                    break;
            }

            Count++;
        }

        /// <summary>
        /// Applies directory modes and times deepest first, after everything inside was written, to the directories
        /// this extraction created; directories that existed get back the times they had before files were added.
        /// </summary>
        public void FinishDirectories()
        {
            foreach (var (path, node) in _directories.OrderByDescending(d => d.Path.Length))
            {
                if (!_created.Contains(path) || IsSymlink(path))
                {
                    continue;
                }

                if (options.RestoreTimes && node.ModificationTime is { } time)
                {
                    Directory.SetLastWriteTimeUtc(path, time.UtcDateTime);
                }

                if (options.RestoreModes && node.Mode is { } mode && !OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(path, (UnixFileMode)mode);
                }
            }

            foreach (var (path, times) in _existing.OrderByDescending(d => d.Key.Length))
            {
                Directory.SetLastWriteTimeUtc(path, times.Write);
                Directory.SetLastAccessTimeUtc(path, times.Access);
            }
        }

        private void WriteFile(string destination, IsoNode node)
        {
            RemoveNonDirectory(destination);
            var stream = new FileStream(destination, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
            });
            using (stream)
            {
                try
                {
                    iso.CopyTo(node, stream);
                    stream.Flush();
                }
                catch
                {
                    // A file cut short (full disk, read error) is not left behind looking whole.
                    stream.Dispose();
                    File.Delete(destination);
                    throw;
                }

                if (options.RestoreModes && !OperatingSystem.IsWindows())
                {
                    var mode = node.Mode is { } m ? (UnixFileMode)m : (UnixFileMode)0b110_100_100;
                    File.SetUnixFileMode(stream.SafeFileHandle, mode);
                }

                if (options.RestoreTimes && node.ModificationTime is { } time)
                {
                    File.SetLastWriteTimeUtc(stream.SafeFileHandle, time.UtcDateTime);
                }
            }
        }

        private string Destination(string isoPath)
        {
            var relative = isoPath.TrimStart('/');
            if (relative.Length == 0)
            {
                return root;
            }

            var full = Path.GetFullPath(Path.Combine(root, relative));
            if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new InvalidImageException($"Refusing to extract '{isoPath}': it would land outside '{root}'");
            }

            return full;
        }

        /// <summary>Every directory between the target and <paramref name="destination"/> must be a real directory, never a link.</summary>
        private void EnsureParents(string destination)
        {
            var parent = Path.GetDirectoryName(destination)!;
            var relative = Path.GetRelativePath(root, parent);
            if (relative == ".")
            {
                return;
            }

            var current = root;
            foreach (var part in relative.Split(Path.DirectorySeparatorChar))
            {
                current = Path.Combine(current, part);
                EnsureDirectory(current);
            }
        }

        private void EnsureDirectory(string path)
        {
            if (_created.Contains(path) || _existing.ContainsKey(path))
            {
                return;
            }

            var info = new FileInfo(path);
            if (info.LinkTarget is not null && path != root)
            {
                throw new ImageAccessException($"Refusing to write through symbolic link '{path}'");
            }

            if (Directory.Exists(path))
            {
                _existing[path] = (Directory.GetLastAccessTimeUtc(path), Directory.GetLastWriteTimeUtc(path));
                return;
            }

            if (info.Exists)
            {
                throw new ImageAccessException($"Cannot create directory '{path}': a file is in the way");
            }

            Directory.CreateDirectory(path);
            _created.Add(path);
        }

        /// <summary>Removes a file or link (the link itself, never its target) that stands where a new node goes.</summary>
        private static void RemoveNonDirectory(string path)
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null || info.Exists)
            {
                File.Delete(path);
            }
            else if (Directory.Exists(path))
            {
                throw new ImageAccessException($"Cannot write '{path}': a directory is in the way");
            }
        }

        private static bool IsSymlink(string path) => new FileInfo(path).LinkTarget is not null;
    }
}
