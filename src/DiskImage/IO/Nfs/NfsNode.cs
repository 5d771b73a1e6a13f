using System.Collections.Concurrent;

namespace DiskImage.IO.Nfs;

/// <summary>
/// QEMU's <c>nfs</c> node given as options (json: or --image-opts): <c>server.type</c> (only <c>inet</c>),
/// <c>server.host</c>, <c>path</c>, and the integers <c>user</c>, <c>group</c>, <c>tcp-syn-count</c>,
/// <c>readahead-size</c>, <c>page-cache-size</c>, <c>debug</c>, read in the order and words of QEMU 7.2's visitor.
/// Such a node travels under an <c>nfs://</c> name that reads back to it.
/// </summary>
internal static class NfsNode
{
    private static readonly string[] IntegerKeys = ["user", "group", "tcp-syn-count", "readahead-size", "page-cache-size", "debug"];

    private static readonly ConcurrentDictionary<string, NfsTarget> s_named = new(StringComparer.Ordinal);

    /// <summary>The target an <c>nfs://</c> name stands for: a node given as options, or the URL read as QEMU reads it.</summary>
    public static NfsTarget FromUrl(string url) => s_named.TryGetValue(url, out var target) ? target : NfsUrl.Parse(url);

    /// <summary>The name a node given as options travels under.</summary>
    public static string NameOf(NfsTarget target)
    {
        var name = target.ToUrl();
        s_named[name] = target;
        return name;
    }

    /// <summary>Reads the node's options (every value as text); refusals are <see cref="InvalidOptionException"/>s in QEMU's words.</summary>
    public static NfsTarget Parse(IReadOnlyDictionary<string, string> given)
    {
        var options = new Dictionary<string, string>(given, StringComparer.Ordinal);
        options.Remove("filename");
        if (!options.Keys.Any(k => k.StartsWith("server.", StringComparison.Ordinal)))
        {
            throw new InvalidOptionException("Parameter 'server' is missing");
        }

        var type = Required(options, "server.type");
        if (type != "inet")
        {
            throw new InvalidOptionException($"Parameter 'type' does not accept value '{type}'");
        }

        var host = Required(options, "server.host");
        if (options.Keys.FirstOrDefault(k => k.StartsWith("server.", StringComparison.Ordinal)) is { } unexpected)
        {
            throw new InvalidOptionException($"Parameter '{unexpected}' is unexpected");
        }

        var target = new NfsTarget(host, Required(options, "path"));
        var numbers = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var key in IntegerKeys)
        {
            if (options.Remove(key, out var text))
            {
                numbers[key] = ParseInteger(text) ?? throw new InvalidOptionException($"Parameter '{key}' expects integer");
            }
        }

        if (options.Count > 0)
        {
            throw new InvalidOptionException($"Parameter '{options.Keys.First()}' is unexpected");
        }

        long? Get(string key) => numbers.TryGetValue(key, out var v) ? v : null;
        return target with
        {
            User = Get("user"),
            Group = Get("group"),
            TcpSynCount = Get("tcp-syn-count"),
            ReadaheadSize = Get("readahead-size"),
            PageCacheSize = Get("page-cache-size"),
            Debug = Get("debug"),
        };
    }

    /// <summary>QEMU's warnings for sizes and levels over its caps, in the order its driver checks them.</summary>
    public static void WarnAboutCaps(NfsTarget target)
    {
        if (target.ReadaheadSize > NfsTarget.MaxReadahead)
        {
            ImageWarnings.Report($"warning: Truncating NFS readahead size to {NfsTarget.MaxReadahead}");
        }

        if (target.PageCacheSize > NfsTarget.MaxPageCache)
        {
            ImageWarnings.Report($"warning: Truncating NFS pagecache size to {NfsTarget.MaxPageCache} pages");
        }

        if (target.Debug > NfsTarget.MaxDebug)
        {
            ImageWarnings.Report($"warning: Limiting NFS debug level to {NfsTarget.MaxDebug}");
        }
    }

    /// <summary>QEMU's refusal of libnfs's readahead or page cache on a node opened with <c>cache.direct=on</c>.</summary>
    /// <exception cref="InvalidImageException">The node asks for either.</exception>
    public static void RefuseCachesWithDirectIo(NfsTarget target)
    {
        if (target.ReadaheadSize is not null)
        {
            throw new InvalidImageException("Cannot enable NFS readahead if cache.direct = on");
        }

        if (target.PageCacheSize is not null)
        {
            throw new InvalidImageException("Cannot enable NFS pagecache if cache.direct = on");
        }
    }

    /// <summary>An int64 as QEMU's string visitor takes it (optional sign, decimal, 0x hex or 0 octal).</summary>
    private static long? ParseInteger(string text)
    {
        var s = text.Trim();
        var negative = s.StartsWith('-');
        if (negative)
        {
            s = s[1..];
        }

        if (s.StartsWith('+') || s.StartsWith('-') || NfsUrl.ParseUnsigned(s) is not { } value)
        {
            return null;
        }

        return negative ? -value : value;
    }

    private static string Required(Dictionary<string, string> options, string key) =>
        options.Remove(key, out var value) ? value : throw new InvalidOptionException($"Parameter '{key}' is missing");
}
