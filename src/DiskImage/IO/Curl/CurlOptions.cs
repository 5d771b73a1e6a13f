using System.Globalization;
using DiskImage.Options;

namespace DiskImage.IO.Curl;

/// <summary>
/// The options of QEMU's read-only curl protocol drivers (<c>http</c>, <c>https</c>, <c>ftp</c>, <c>ftps</c>): the URL, how far to read ahead,
/// the timeout of one request, certificate checking, and the cookie and credentials (secrets by id), checked as
/// QEMU's driver checks them when it opens.
/// </summary>
internal sealed record CurlOptions
{
    /// <summary>QEMU's default read-ahead: 256 KiB beyond each request.</summary>
    public const long DefaultReadahead = 256 * 1024;

    /// <summary>QEMU's default timeout of one transfer, in seconds.</summary>
    public const ulong DefaultTimeout = 5;

    /// <summary>The largest timeout QEMU takes, in seconds.</summary>
    public const ulong MaxTimeout = 10000;

    /// <summary>The largest read-ahead taken here, so that one cached request stays bounded (QEMU has no limit).</summary>
    public const long MaxReadahead = 64L * 1024 * 1024;

    /// <summary>Every option name the drivers take.</summary>
    public static readonly string[] Keys =
    [
        "url", "readahead", "timeout", "sslverify", "cookie", "cookie-secret", "username", "password-secret", "proxy-username", "proxy-password-secret",
    ];

    /// <summary>The options that change what is read, and so make QEMU name the node by its JSON description.</summary>
    public static readonly string[] StrongKeys =
    [
        "url", "sslverify", "cookie", "cookie-secret", "username", "password-secret", "proxy-username", "proxy-password-secret",
    ];

    /// <summary>The driver: <c>http</c>, <c>https</c>, <c>ftp</c> or <c>ftps</c>.</summary>
    public required string Protocol { get; init; }

    /// <summary>The URL, as given.</summary>
    public required string Url { get; init; }

    /// <summary>Bytes read beyond each request that the cache does not already hold.</summary>
    public long Readahead { get; init; } = DefaultReadahead;

    /// <summary>Seconds one transfer may take; 0 for no limit.</summary>
    public ulong Timeout { get; init; } = DefaultTimeout;

    /// <summary>Whether the server's certificate and host name are checked.</summary>
    public bool SslVerify { get; init; } = true;

    /// <summary>The <c>Cookie</c> header's value, or null.</summary>
    public string? Cookie { get; init; }

    /// <summary>The id of the secret holding the cookie, or null.</summary>
    public string? CookieSecret { get; init; }

    /// <summary>The user name for the server, or null.</summary>
    public string? Username { get; init; }

    /// <summary>The id of the secret holding the server's password, or null.</summary>
    public string? PasswordSecret { get; init; }

    /// <summary>The user name for the proxy, or null.</summary>
    public string? ProxyUsername { get; init; }

    /// <summary>The id of the secret holding the proxy's password, or null.</summary>
    public string? ProxyPasswordSecret { get; init; }

    /// <summary>Whether any option QEMU counts as changing what is read differs from its default (besides the URL).</summary>
    public bool HasStrongOptions => !SslVerify || Cookie is not null || CookieSecret is not null || Username is not null
        || PasswordSecret is not null || ProxyUsername is not null || ProxyPasswordSecret is not null;

    /// <summary>The options a plain file name gives: the URL as it is, query string included, every other option at its default.</summary>
    public static CurlOptions ForUrl(string protocol, string url) => Parse(protocol, new Dictionary<string, string>(StringComparer.Ordinal) { ["url"] = url });

    /// <summary>
    /// The driver's options, checked in QEMU's order and words. Keys outside <see cref="Keys"/> are the caller's to
    /// refuse; the URL must start with the driver's own scheme.
    /// </summary>
    /// <exception cref="InvalidOptionException">An option is malformed or out of range, or the URL is missing or of another scheme.</exception>
    public static CurlOptions Parse(string protocol, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var readahead = options.TryGetValue("readahead", out var readaheadText) ? SizeOption("readahead", readaheadText) : DefaultReadahead;
        if ((readahead & 0x1ff) != 0)
        {
            throw new InvalidOptionException(string.Create(CultureInfo.InvariantCulture, $"HTTP_READAHEAD_SIZE {readahead} is not a multiple of 512"));
        }

        if (readahead > MaxReadahead)
        {
            throw new InvalidOptionException(string.Create(CultureInfo.InvariantCulture, $"HTTP_READAHEAD_SIZE {readahead} is larger than {MaxReadahead}"));
        }

        var timeout = options.TryGetValue("timeout", out var timeoutText) ? QemuNumber.Parse("timeout", timeoutText) : DefaultTimeout;
        if (timeout > MaxTimeout)
        {
            throw new InvalidOptionException("timeout parameter is too large or negative");
        }

        var sslVerify = !options.TryGetValue("sslverify", out var verifyText) || KeyValueOptions.ParseBool("sslverify", verifyText);
        var cookie = options.GetValueOrDefault("cookie");
        var cookieSecret = options.GetValueOrDefault("cookie-secret");
        if (cookie is not null && cookieSecret is not null)
        {
            throw new InvalidOptionException("curl driver cannot handle both cookie and cookie secret");
        }

        var url = options.GetValueOrDefault("url") ?? throw new InvalidOptionException("curl block driver requires an 'url' option");
        if (!url.StartsWith(protocol + "://", StringComparison.Ordinal))
        {
            throw new InvalidOptionException($"{protocol} curl driver cannot handle the URL '{url}' (does not start with '{protocol}://')");
        }

        return new CurlOptions
        {
            Protocol = protocol,
            Url = url,
            Readahead = readahead,
            Timeout = timeout,
            SslVerify = sslVerify,
            Cookie = cookie,
            CookieSecret = cookieSecret,
            Username = options.GetValueOrDefault("username"),
            PasswordSecret = options.GetValueOrDefault("password-secret"),
            ProxyUsername = options.GetValueOrDefault("proxy-username"),
            ProxyPasswordSecret = options.GetValueOrDefault("proxy-password-secret"),
        };
    }

    private static long SizeOption(string key, string text) => SizeText.TryParse(text, out var value) ? value
        : throw new InvalidOptionException($"Parameter '{key}' expects a non-negative number below 2^64\n" +
            "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.");
}
