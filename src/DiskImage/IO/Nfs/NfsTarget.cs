using System.Globalization;
using System.Text;

namespace DiskImage.IO.Nfs;

/// <summary>
/// Where QEMU's <c>nfs</c> driver goes and how: the server's host, the path of the image (its directory is the
/// export mounted, its last component the file), and the options QEMU hands libnfs (the AUTH_SYS uid and gid, the
/// TCP SYN count, readahead and page cache sizes, the debug level).
/// </summary>
internal sealed record NfsTarget(string Host, string Path)
{
    /// <summary>QEMU's cap on the readahead size (1 MiB).</summary>
    public const long MaxReadahead = 1 << 20;

    /// <summary>QEMU's cap on the page cache (8 MiB in 4 KiB pages).</summary>
    public const long MaxPageCache = 2048;

    /// <summary>QEMU's cap on libnfs's debug level.</summary>
    public const long MaxDebug = 2;

    public long? User { get; init; }

    public long? Group { get; init; }

    public long? TcpSynCount { get; init; }

    public long? ReadaheadSize { get; init; }

    public long? PageCacheSize { get; init; }

    public long? Debug { get; init; }

    /// <summary>The directory mounted: the path up to its last slash.</summary>
    public string Export => Path[..Path.LastIndexOf('/')];

    /// <summary>The file within the export, with its leading slash (as libnfs names it in its errors).</summary>
    public string File => Path[Path.LastIndexOf('/')..];

    /// <summary>
    /// The node's name as QEMU shows it: <c>nfs://HOST/PATH</c>, with the uid and gid that are set and not 0 (the
    /// other options are not part of it).
    /// </summary>
    public string NodeName
    {
        get
        {
            var name = new StringBuilder($"nfs://{Host}{Path}");
            var separator = '?';
            foreach (var (key, value) in new[] { ("uid", User), ("gid", Group) })
            {
                if (value is { } v && v != 0)
                {
                    name.Append(CultureInfo.InvariantCulture, $"{separator}{key}={v}");
                    separator = '&';
                }
            }

            return name.ToString();
        }
    }

    /// <summary>Whether the node has a base directory for relative backing names (none with a uid or gid, as in QEMU).</summary>
    public bool HasBaseDirectory => User is null or 0 && Group is null or 0;

    /// <summary>The options as a URL that reads back to this target (the node a json: or --image-opts name gives travels under it).</summary>
    public string ToUrl()
    {
        var query = new List<string>();
        void Add(string key, long? value)
        {
            if (value is { } v)
            {
                query.Add(string.Create(CultureInfo.InvariantCulture, $"{key}={v}"));
            }
        }

        Add("uid", User);
        Add("gid", Group);
        Add("tcp-syncnt", TcpSynCount);
        Add("readahead", ReadaheadSize);
        Add("pagecache", PageCacheSize);
        Add("debug", Debug);
        return $"nfs://{Host}{Path}" + (query.Count == 0 ? "" : "?" + string.Join('&', query));
    }
}
