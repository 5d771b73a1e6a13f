namespace DiskImage.Options;

/// <summary>
/// QEMU's filter drivers above an image's format node: <c>copy-on-read</c> (reads copy what they get from the backing
/// chain into the image) and <c>compress</c> (writes store whole clusters compressed). A filter's node below is its
/// <c>file</c>; peeling the filters leaves that node's options, which every spelling of a name (<c>json:</c>,
/// <c>--image-opts</c>, qemu-io's <c>open -o</c>) then reads through the same <see cref="BlockSpec"/> path.
/// </summary>
internal static class FilterNodes
{
    /// <summary>Most filters accepted above one image (QEMU stacks any number; more than a few only makes names long).</summary>
    public const int MaxDepth = 4;

    private const string FilePrefix = "file.";

    /// <summary>Whether <paramref name="driver"/> names a filter driver handled here.</summary>
    public static bool IsFilter(string? driver) => driver is "copy-on-read" or "compress";

    /// <summary>
    /// The options of the node under the top filters (the keys under <c>file.</c>, one level per filter), with which
    /// filters were peeled. Options that are not the filter's node are the filter's own, which neither filter takes.
    /// A filter straight over a file name (<c>file.filename</c> alone) has a <c>file</c> protocol node under it, which
    /// <paramref name="fromText"/> spells as its <c>driver</c>: QEMU probes no format there.
    /// </summary>
    public static Peeled<T> Peel<T>(IReadOnlyList<KeyValuePair<string, T>> options, Func<T, string> text, Func<string, T> fromText)
    {
        ArgumentNullException.ThrowIfNull(fromText);
        var peeled = Peel(options, text);
        if (!peeled.HadFilters || peeled.Options.Any(o => o.Key == "driver" || o.Key.StartsWith(FilePrefix, StringComparison.Ordinal)))
        {
            return peeled;
        }

        // Only a format node can store compressed clusters.
        return peeled.Compress
            ? throw new InvalidOptionException("Compression is not supported for underlying format: file")
            : peeled with { Options = [.. peeled.Options, new("driver", fromText("file"))] };
    }

    private static Peeled<T> Peel<T>(IReadOnlyList<KeyValuePair<string, T>> options, Func<T, string> text)
    {
        ArgumentNullException.ThrowIfNull(options);
        var current = options;
        bool copyOnRead = false, compress = false;
        for (var depth = 0; ; depth++)
        {
            var driver = current.Where(o => o.Key == "driver").Select(o => text(o.Value)).LastOrDefault();
            if (!IsFilter(driver))
            {
                return new Peeled<T>(current, copyOnRead, compress, depth > 0);
            }

            if (depth == MaxDepth)
            {
                throw new InvalidOptionException($"Too many filter nodes (at most {MaxDepth})");
            }

            // The filter opens its file child first (a "filename" option is never it), checks what it got, and only
            // then are options it does not have refused.
            var inner = current.Where(o => o.Key.StartsWith(FilePrefix, StringComparison.Ordinal))
                .Select(o => new KeyValuePair<string, T>(o.Key[FilePrefix.Length..], o.Value)).ToList();
            var reference = current.FirstOrDefault(o => o.Key == "file");
            if (reference.Key is not null)
            {
                throw new InvalidOptionException($"Cannot find device='{text(reference.Value)}' nor node-name='{text(reference.Value)}'");
            }

            if (inner.Count == 0)
            {
                throw new InvalidOptionException("A block device must be specified for \"file\"");
            }

            if (current.FirstOrDefault(o => o.Key != "driver" && !o.Key.StartsWith(FilePrefix, StringComparison.Ordinal)) is { Key: not null } own)
            {
                throw new InvalidOptionException(driver == "compress" && !inner.Exists(o => o.Key == "driver" || o.Key.StartsWith(FilePrefix, StringComparison.Ordinal))
                    ? "Compression is not supported for underlying format: file"
                    : $"Block format '{driver}' does not support the option '{own.Key}'");
            }

            copyOnRead |= driver == "copy-on-read";
            compress |= driver == "compress";
            current = inner;
        }
    }

    /// <summary>The node under the filters (its options in the order given) and the filters' effects.</summary>
    internal sealed record Peeled<T>(IReadOnlyList<KeyValuePair<string, T>> Options, bool CopyOnRead, bool Compress, bool HadFilters);
}
