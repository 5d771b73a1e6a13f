using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DiskImage.Formats.Foreign;

/// <summary>
/// Where QEMU's gluster driver looks for an image: <c>gluster[+tcp|+unix|+rdma]://[host[:port]]/volume/path[?socket=...]</c>,
/// read as QEMU reads it, so that a plain absolute path is a volume and path on the glusterd of localhost, port
/// 24007. The library speaks no gluster; it only finds out whether the management daemon can be reached, because
/// QEMU's refusal when it cannot be is the one scripts see.
/// </summary>
internal sealed record GlusterLocation(string Volume, string Path, string? Host, string? Port, string? Socket, bool Rdma)
{
    /// <summary>Whether gluster takes the volume's name: ASCII letters, digits, '_' and '-' only.</summary>
    public bool HasValidVolume => Volume.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>Whether the location names a unix socket, possibly without a path (<c>?socket</c> alone).</summary>
    public bool IsUnix => Host is null;

    private const int DefaultPort = 24007;

    /// <summary>How long a connection attempt may take before the daemon counts as unreachable.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>QEMU's usage lines for a name it cannot read as a gluster location.</summary>
    public static string InvalidName(string name) =>
        $"invalid URI {name}\nUsage: file=gluster[+transport]://[host[:port]]volume/path[?socket=...][,file.debug=N][,file.logfile=/path/filename.log]";

    /// <summary>The location <paramref name="name"/> names, or null where QEMU calls it an invalid URI.</summary>
    public static GlusterLocation? Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (QemuUriReference.Parse(name) is not { } uri || uri.Scheme is not (null or "gluster" or "gluster+tcp" or "gluster+unix" or "gluster+rdma"))
        {
            return null;
        }

        // The path is the volume, then the image path within it; slashes around the volume do not count.
        var rest = (uri.Path ?? "").AsSpan().TrimStart('/');
        var slash = rest.IndexOf('/');
        if (uri.Path is null || slash < 0)
        {
            return null;
        }

        var volume = rest[..slash].ToString();
        var path = rest[slash..].TrimStart('/').ToString();
        if (path.Length == 0)
        {
            return null;
        }

        var parameters = QueryParameters(uri.Query);
        var unix = uri.Scheme == "gluster+unix";
        if (parameters.Count > 1 || parameters.Count != (unix ? 1 : 0))
        {
            return null;
        }

        if (unix)
        {
            return uri.Server is null && uri.Port == 0 && parameters[0].Name == "socket"
                ? new GlusterLocation(volume, path, null, null, parameters[0].Value, Rdma: false)
                : null;
        }

        var port = (uri.Port == 0 ? DefaultPort : uri.Port).ToString(CultureInfo.InvariantCulture);
        return new GlusterLocation(volume, path, uri.Server ?? "localhost", port, null, uri.Scheme == "gluster+rdma");
    }

    /// <summary>QEMU's refusal when the management daemon cannot be reached (its message and its hint line).</summary>
    public string ConnectionFailure() =>
        $"Gluster connection for volume {Volume}, path {Path} failed to connect\n"
        + (IsUnix ? $"hint: failed on socket {Socket} " : $"hint: failed on host {Host} and port {Port} ")
        + "Please refer to gluster logs for more info";

    /// <summary>Whether something accepts a connection where the management daemon should listen.</summary>
    public bool IsReachable()
    {
        try
        {
            if (IsUnix)
            {
                if (Socket is null)
                {
                    return false;
                }

                using var local = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                return local.ConnectAsync(new UnixDomainSocketEndPoint(Socket)).Wait(ConnectTimeout);
            }

            var host = Host!.StartsWith('[') && Host.EndsWith(']') ? Host[1..^1] : Host;
            using var cancel = new CancellationTokenSource(ConnectTimeout);
            using var client = new TcpClient(AddressFamily.InterNetworkV6) { Client = { DualMode = true } };
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : Dns.GetHostAddressesAsync(host, cancel.Token).GetAwaiter().GetResult();
            client.ConnectAsync(addresses, int.Parse(Port!, CultureInfo.InvariantCulture), cancel.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or AggregateException or ArgumentException or IOException)
        {
            return false;
        }
    }

    /// <summary>The query's name=value pairs as QEMU splits them (on '&amp;', else ';'; "=value" and empty parts skipped).</summary>
    internal static List<(string Name, string? Value)> QueryParameters(string? query)
    {
        var list = new List<(string, string?)>();
        var rest = query ?? "";
        while (rest.Length > 0)
        {
            var end = rest.IndexOf('&', StringComparison.Ordinal);
            if (end < 0)
            {
                end = rest.IndexOf(';', StringComparison.Ordinal);
            }

            if (end < 0)
            {
                end = rest.Length;
            }

            var part = rest[..end];
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (part.Length > 0 && eq != 0)
            {
                list.Add(eq < 0 ? (QemuUriReference.Decode(part), null) : (QemuUriReference.Decode(part.AsSpan(0, eq)), QemuUriReference.Decode(part.AsSpan(eq + 1))));
            }

            rest = end < rest.Length ? rest[(end + 1)..] : "";
        }

        return list;
    }
}
