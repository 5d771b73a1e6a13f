namespace DiskImage.IO.Nfs;

/// <summary>
/// Looks a path up from the export's root as libnfs does: component by component, following symbolic links (a
/// relative target from the link's directory, an absolute one only inside the export, 40 links at most), the path
/// normalised after each link. Failures carry libnfs's words, the path named as it stands after the last link.
/// </summary>
internal static class NfsPathWalk
{
    private const int MaxLinks = 40;

    /// <summary>The handle <paramref name="path"/> (absolute within the export) names.</summary>
    /// <exception cref="NfsProtocolException">A lookup failed or a link leads nowhere the export has.</exception>
    public static NfsFileHandle Resolve(Nfs3Client client, NfsFileHandle root, string export, string path)
    {
        var links = 0;
        var current = path;
        restart:
        var components = current.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var handle = root;
        for (var i = 0; i < components.Length; i++)
        {
            var (next, type) = client.LookupWithType(handle, components[i], current);
            if (type != NfsAttributes.SymbolicLink)
            {
                handle = next;
                continue;
            }

            if (links++ >= MaxLinks)
            {
                throw new NfsProtocolException("Too many levels of symbolic links") { Errno = -40 };
            }

            var target = client.ReadLink(next, current);
            var rest = string.Join('/', components[(i + 1)..]);
            current = Normalize(Relink(export, "/" + string.Join('/', components[..(i + 1)]), target, rest));
            goto restart;
        }

        return handle;
    }

    /// <summary>The path a link at <paramref name="linkPath"/> pointing at <paramref name="target"/> stands for, with what followed it.</summary>
    private static string Relink(string export, string linkPath, string target, string rest)
    {
        if (!target.StartsWith('/'))
        {
            return $"{linkPath}/../{target}" + (rest.Length > 0 ? "/" + rest : "");
        }

        if (!target.StartsWith(export, StringComparison.Ordinal)
            || (target.Length > export.Length && target[export.Length] != '/'))
        {
            throw new NfsProtocolException("Symbolic link points outside export") { Errno = -2 };
        }

        var inside = target.Length == export.Length ? "/" : target[export.Length..];
        return inside + (rest.Length > 0 ? "/" + rest : "");
    }

    /// <summary>Collapses empty and <c>.</c> components and applies <c>..</c>; a <c>..</c> above the root is refused.</summary>
    internal static string Normalize(string path)
    {
        var stack = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (stack.Count == 0)
                {
                    throw new NfsProtocolException("Symbolic link resolves to invalid path") { Errno = -2 };
                }

                stack.RemoveAt(stack.Count - 1);
                continue;
            }

            stack.Add(part);
        }

        return "/" + string.Join('/', stack);
    }
}
