using System.Globalization;

namespace DiskImage.IO.Curl.Ftp;

/// <summary>
/// Where an <c>ftp://</c> or <c>ftps://</c> URL points, read as libcurl reads it: user and password from the user
/// information, the port (21, or 990 for ftps, which is TLS from the first byte), the directories to change into one
/// by one (a first empty component, as in <c>ftp://host//abs/file</c>, is the root) and the file's name.
/// Percent escapes are decoded; a control character anywhere is refused, so nothing can end a command early.
/// </summary>
internal sealed record FtpLocation
{
    /// <summary>libcurl's words for a URL it cannot use.</summary>
    public const string BadUrl = "URL using bad/illegal format or missing URL";

    /// <summary>libcurl's words for a path with a control character in it.</summary>
    public const string ControlInPath = "path contains control characters";

    /// <summary>What QEMU prints when libcurl refuses the URL before it says why (a bad port, a control character in the user information).</summary>
    public const string Unexplained = "";

    public required string Host { get; init; }

    public required int Port { get; init; }

    /// <summary>Whether the control and data connections are TLS from the start (<c>ftps://</c>).</summary>
    public required bool ImplicitTls { get; init; }

    public string? User { get; init; }

    public string? Password { get; init; }

    public required IReadOnlyList<string> Directories { get; init; }

    /// <summary>The file's name in the last directory; empty when the URL names a directory.</summary>
    public required string FileName { get; init; }

    /// <exception cref="CurlTransferException">The URL is not one libcurl would use.</exception>
    public static FtpLocation Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var tls = url.StartsWith("ftps://", StringComparison.Ordinal);
        if (!tls && !url.StartsWith("ftp://", StringComparison.Ordinal))
        {
            throw new CurlTransferException(BadUrl);
        }

        var rest = url[(tls ? 7 : 6)..];
        var cut = rest.IndexOfAny(['?', '#']);
        if (cut >= 0)
        {
            rest = rest[..cut];
        }

        // libcurl reads "ftp:///name" as "ftp://name".
        rest = rest.TrimStart('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "" : rest[(slash + 1)..];
        string? user = null, password = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var info = authority[..at];
            authority = authority[(at + 1)..];
            var colon = info.IndexOf(':', StringComparison.Ordinal);
            user = Decode(colon < 0 ? info : info[..colon], Unexplained);
            password = colon < 0 ? null : Decode(info[(colon + 1)..], Unexplained);
        }

        var (host, port) = HostAndPort(authority, tls ? 990 : 21);
        var parts = path.Split('/');
        var directories = new List<string>();
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (parts[i].Length > 0)
            {
                directories.Add(Decode(parts[i], ControlInPath));
            }
            else if (i == 0)
            {
                directories.Add("/");
            }
        }

        return new FtpLocation
        {
            Host = host, Port = port, ImplicitTls = tls, User = user, Password = password,
            Directories = directories, FileName = Decode(parts[^1], ControlInPath),
        };
    }

    private static (string Host, int Port) HostAndPort(string authority, int defaultPort)
    {
        string host;
        var portText = "";
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new CurlTransferException(BadUrl);
            }

            host = authority[1..close];
            var after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                portText = after.StartsWith(':') ? after[1..] : throw new CurlTransferException(BadUrl);
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? "" : authority[(colon + 1)..];
        }

        if (host.Length == 0 || host.Any(c => char.IsControl(c) || c is ' ' or '/' or '\\'))
        {
            throw new CurlTransferException(BadUrl);
        }

        if (portText.Length == 0)
        {
            return (host, defaultPort);
        }

        return portText.Length <= 5 && portText.All(char.IsAsciiDigit) && int.Parse(portText, NumberStyles.None, CultureInfo.InvariantCulture) is var port and <= 65535
            ? (host, port)
            : throw new CurlTransferException(Unexplained);
    }

    private static string Decode(string part, string refusal)
    {
        var text = Uri.UnescapeDataString(part);
        return text.Any(char.IsControl) ? throw new CurlTransferException(refusal) : text;
    }
}
