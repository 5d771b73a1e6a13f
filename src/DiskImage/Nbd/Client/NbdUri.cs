using System.Globalization;

namespace DiskImage.Nbd.Client;

/// <summary>Where an NBD export is: <c>nbd://host[:port]/export</c> or <c>nbd+unix:///export?socket=PATH</c>.</summary>
public sealed record NbdUri(string? Host, int Port, string? SocketPath, string ExportName)
{
    /// <summary>Id of the <c>tls-creds-x509</c> object to connect with (qemu's <c>tls-creds</c> option); carried as a <c>tls-creds=</c> query parameter.</summary>
    public string? TlsCreds { get; init; }

    /// <summary>The name the server's certificate must carry (qemu's <c>tls-hostname</c>); defaults to the host. Carried as a <c>tls-hostname=</c> query parameter.</summary>
    public string? TlsHostname { get; init; }

    /// <summary>
    /// qemu's <c>x-dirty-bitmap</c>: the meta context whose flags block status reads instead of <c>base:allocation</c>'s.
    /// Carried as an <c>x-dirty-bitmap=</c> query parameter.
    /// </summary>
    public string? DirtyBitmap { get; init; }

    /// <summary>
    /// qemu's <c>open-timeout</c>: for how many seconds a refused or missing server is tried again while opening (0:
    /// one attempt). Carried as an <c>open-timeout=</c> query parameter.
    /// </summary>
    public uint OpenTimeout { get; init; }

    /// <summary>
    /// qemu's <c>reconnect-delay</c>: for how many seconds requests wait for a new connection after the server drops
    /// one, to be sent again on it (0: a dropped connection fails them at once). Carried as a <c>reconnect-delay=</c>
    /// query parameter.
    /// </summary>
    public uint ReconnectDelay { get; init; }

    /// <summary>Whether <paramref name="name"/> is written as an NBD URI or in qemu's legacy <c>nbd:</c> syntax.</summary>
    public static bool IsNbd(string name) =>
        name.StartsWith("nbd:", StringComparison.Ordinal) || name.StartsWith("nbd+tcp://", StringComparison.Ordinal)
        || name.StartsWith("nbd+unix://", StringComparison.Ordinal);

    /// <summary>Parses <c>nbd://host[:port]/export</c>, <c>nbd+tcp://...</c> or <c>nbd+unix:///export?socket=PATH</c>; bad input is refused with qemu's wording.</summary>
    /// <param name="text">The URI.</param>
    public static NbdUri Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            return NbdLegacyName.Parse(text);
        }

        var unix = text.StartsWith("nbd+unix://", StringComparison.Ordinal);
        var rest = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var query = "";
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var export = slash < 0 ? "" : Uri.UnescapeDataString(rest[(slash + 1)..]);
        string? socket = null;
        string? tlsCreds = null;
        string? tlsHostname = null;
        string? dirtyBitmap = null;
        uint openTimeout = 0;
        uint reconnectDelay = 0;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (key == "socket" && unix)
            {
                socket = value;
            }
            else if (key == "tls-creds")
            {
                tlsCreds = value;
            }
            else if (key == "tls-hostname")
            {
                tlsHostname = value;
            }
            else if (key == "x-dirty-bitmap")
            {
                dirtyBitmap = value;
            }
            else if (key == "open-timeout")
            {
                openTimeout = ParseSeconds(key, value);
            }
            else if (key == "reconnect-delay")
            {
                reconnectDelay = ParseSeconds(key, value);
            }
            else
            {
                throw new InvalidOptionException($"Unexpected query parameter '{key}' in NBD URI '{text}'");
            }
        }

        if (unix)
        {
            if (authority.Length > 0 || socket is null)
            {
                throw new InvalidOptionException($"An nbd+unix URI needs an empty host and a socket: nbd+unix:///export?socket=PATH ('{text}')");
            }

            return new NbdUri(null, 0, socket, export) { TlsCreds = tlsCreds, TlsHostname = tlsHostname, DirtyBitmap = dirtyBitmap, OpenTimeout = openTimeout, ReconnectDelay = reconnectDelay };
        }

        var host = authority;
        var port = NbdConstants.DefaultPort;
        var colon = authority.LastIndexOf(':');
        if (colon >= 0 && !authority.EndsWith(']'))
        {
            host = authority[..colon];
            if (!int.TryParse(authority[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is 0 or > 65535)
            {
                throw new InvalidOptionException($"Invalid port in NBD URI '{text}'");
            }
        }

        host = host.Trim('[', ']');
        if (host.Length == 0)
        {
            throw new InvalidOptionException($"An NBD URI needs a host: nbd://host[:port]/export ('{text}')");
        }

        return new NbdUri(host, port, null, export) { TlsCreds = tlsCreds, TlsHostname = tlsHostname, DirtyBitmap = dirtyBitmap, OpenTimeout = openTimeout, ReconnectDelay = reconnectDelay };
    }

    /// <summary>The URI as qemu-img prints an NBD node's file name (no slash before an empty export name).</summary>
    public override string ToString()
    {
        var export = ExportName.Length == 0 ? "" : "/" + Uri.EscapeDataString(ExportName);
        return SocketPath is not null ? $"nbd+unix://{export}?socket={SocketPath}" : $"nbd://{(Host!.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}{export}";
    }

    /// <summary>The URI for a server address given as qemu's <c>server.*</c> options.</summary>
    public static string Format(string type, string? host, string? port, string? path, string? export, string? tlsCreds = null, string? tlsHostname = null, string? dirtyBitmap = null, string? openTimeout = null, string? reconnectDelay = null)
    {
        if (openTimeout is not null)
        {
            ParseSeconds("open-timeout", openTimeout);
        }

        if (reconnectDelay is not null)
        {
            ParseSeconds("reconnect-delay", reconnectDelay);
        }

        var name = Uri.EscapeDataString(export ?? "");
        var tls = string.Join('&', new[] { ("tls-creds", tlsCreds), ("tls-hostname", tlsHostname), ("x-dirty-bitmap", dirtyBitmap), ("open-timeout", openTimeout), ("reconnect-delay", reconnectDelay) }
            .Where(p => p.Item2 is not null).Select(p => p.Item1 + "=" + Uri.EscapeDataString(p.Item2!)));
        return type switch
        {
            "unix" => $"nbd+unix:///{name}?socket={path ?? throw new InvalidOptionException("Parameter 'server.path' is missing")}{(tls.Length > 0 ? "&" + tls : "")}",
            "inet" => $"nbd://{host ?? throw new InvalidOptionException("Parameter 'server.host' is missing")}:{port ?? NbdConstants.DefaultPort.ToString(CultureInfo.InvariantCulture)}/{name}{(tls.Length > 0 ? "?" + tls : "")}",
            _ => throw new InvalidOptionException($"Parameter 'server.type' does not accept value '{type}'"),
        };
    }

    /// <summary>
    /// A number of seconds as QEMU's nbd driver reads it: a QEMU number option (decimal, 0x hex, leading-zero octal, a
    /// minus wrapping), kept in 32 bits.
    /// </summary>
    private static uint ParseSeconds(string key, string value) => unchecked((uint)DiskImage.Options.QemuNumber.Parse(key, value));
}
