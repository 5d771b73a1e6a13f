using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace DiskImage.IO.Curl;

/// <summary>
/// HTTP(S) as QEMU's curl driver uses it: a <c>HEAD</c> for the size and range support, then <c>GET</c>s with one
/// <c>Range</c> each. Redirects are followed (at most <see cref="MaxRedirects"/>), an HTTP error status fails the
/// transfer, and each transfer has the node's timeout. Everything the server says is checked before use: the range
/// it answers with must be the one asked for and the body must be whole; no more than was asked is ever read.
/// Failures are <see cref="CurlTransferException"/> in libcurl's words.
/// </summary>
internal sealed class HttpRangeClient : IRangeClient
{
    /// <summary>How many redirects one request follows (libcurl would follow them without end).</summary>
    public const int MaxRedirects = 20;

    private readonly HttpClient _client;
    private readonly CurlOptions _options;
    private readonly Uri _uri;
    private readonly string? _authorization;
    private readonly string? _cookie;

    public HttpRangeClient(CurlOptions options, string? password, string? proxyPassword, string? cookie)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw new CurlTransferException("URL using bad/illegal format or missing URL");
        }

        _uri = uri;
        _cookie = options.Cookie ?? cookie;
        if (options.Username is not null || password is not null)
        {
            // libcurl sends Basic credentials with the first request when given a user name.
            _authorization = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Username}:{password}"));
        }

        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = MaxRedirects,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(options.Timeout),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        if (!options.SslVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        if (options.ProxyUsername is not null || proxyPassword is not null)
        {
            handler.DefaultProxyCredentials = new NetworkCredential(options.ProxyUsername ?? "", proxyPassword ?? "");
        }

        _client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The file's size from the <c>HEAD</c> answer, which must promise byte ranges.</summary>
    public long Size()
    {
        var (length, acceptsRanges) = Run((token, _) => HeadAsync(token));
        if (length is not { } size)
        {
            throw new CurlTransferException("Server didn't report file size.");
        }

        return acceptsRanges ? size : throw new CurlTransferException("Server does not support 'range' (byte ranges).");
    }

    /// <summary>Exactly <paramref name="count"/> bytes from <paramref name="offset"/>.</summary>
    public byte[] Fetch(long offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return Run((token, state) => GetAsync(offset, count, token, state));
    }

    public void Dispose() => _client.Dispose();

    private T Run<T>(Func<CancellationToken, TransferProgress, Task<T>> transfer)
    {
        using var timeout = new CancellationTokenSource();
        if (_options.Timeout != 0)
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.Timeout));
        }

        var watch = Stopwatch.StartNew();
        var state = new TransferProgress();
        try
        {
            return transfer(timeout.Token, state).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested)
        {
            throw CurlTransferException.TimedOut(watch.ElapsedMilliseconds, state.Received, e);
        }
        catch (HttpRequestException e)
        {
            throw new CurlTransferException(Describe(e, watch), e);
        }
        catch (IOException e)
        {
            throw new CurlTransferException(e.InnerException is AuthenticationException ? CertificateFailure : $"Recv failure: {e.Message}", e);
        }
    }

    /// <summary>libcurl (GnuTLS) on a certificate it cannot verify.</summary>
    private const string CertificateFailure = "server certificate verification failed. CAfile: none CRLfile: none";

    private string Describe(HttpRequestException e, Stopwatch watch)
    {
        var socket = e.InnerException as SocketException ?? e.InnerException?.InnerException as SocketException;
        if (socket?.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData)
        {
            return $"Could not resolve host: {_uri.Host}";
        }

        if (socket is not null || e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Failed to connect to {_uri.Host} port {_uri.Port} after {watch.ElapsedMilliseconds} ms: Couldn't connect to server");
        }

        if (e.HttpRequestError == HttpRequestError.NameResolutionError)
        {
            return $"Could not resolve host: {_uri.Host}";
        }

        if (e.HttpRequestError == HttpRequestError.SecureConnectionError || e.InnerException is AuthenticationException)
        {
            return CertificateFailure;
        }

        return e.HttpRequestError == HttpRequestError.InvalidResponse ? "Weird server reply" : $"Recv failure: {e.Message}";
    }

    private HttpRequestMessage Request(HttpMethod method)
    {
        var request = new HttpRequestMessage(method, _uri) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.AcceptEncoding.Clear();
        if (_authorization is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", _authorization);
        }

        if (_cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", _cookie);
        }

        return request;
    }

    private async Task<(long? Length, bool AcceptsRanges)> HeadAsync(CancellationToken token)
    {
        using var request = Request(HttpMethod.Head);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
        CheckStatus(response);
        // As QEMU reads it: some Accept-Ranges line whose whole value is "bytes" (a list such as "bytes, none" is not).
        var acceptsRanges = response.Headers.NonValidated.TryGetValues("Accept-Ranges", out var values) && values.Any(v => v.Trim() == "bytes");
        return (response.Content.Headers.ContentLength, acceptsRanges);
    }

    private async Task<byte[]> GetAsync(long offset, int count, CancellationToken token, TransferProgress state)
    {
        var last = offset + count - 1;
        using var request = Request(HttpMethod.Get);
        request.Headers.Range = new RangeHeaderValue(offset, last);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
        CheckStatus(response);
        if (response.StatusCode != HttpStatusCode.PartialContent)
        {
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Server ignored the range request for bytes {offset}-{last} (HTTP {(int)response.StatusCode})"));
        }

        var range = response.Content.Headers.ContentRange;
        if (range is not { Unit: "bytes", From: { } from, To: { } to } || from != offset || to != last)
        {
            var given = response.Content.Headers.TryGetValues("Content-Range", out var text) ? string.Join(", ", text) : "none";
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Server answered the range request for bytes {offset}-{last} with the range '{given}'"));
        }

        if (response.Content.Headers.ContentLength is { } announced && announced != count)
        {
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Server announced {announced} bytes for the range request for bytes {offset}-{last}"));
        }

        var data = new byte[count];
        using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        while (state.Received < count)
        {
            int n;
            try
            {
                n = await body.ReadAsync(data.AsMemory((int)state.Received), token).ConfigureAwait(false);
            }
            catch (HttpIOException e) when (e.HttpRequestError == HttpRequestError.ResponseEnded)
            {
                // The connection closed before the Content-Length the server announced.
                n = 0;
            }

            if (n == 0)
            {
                throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"transfer closed with {count - state.Received} bytes remaining to read"));
            }

            state.Received += n;
        }

        // Without a Content-Length the body runs to the end of the connection: it must end where the range does.
        if (response.Content.Headers.ContentLength is null && await body.ReadAsync(new byte[1], token).ConfigureAwait(false) != 0)
        {
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Server sent more than the {count} bytes of the range request for bytes {offset}-{last}"));
        }

        return data;
    }

    private static void CheckStatus(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status >= 400)
        {
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"The requested URL returned error: {status}"));
        }

        if (status is >= 300 and < 400)
        {
            // The handler follows redirects; one still here is past the limit or has nowhere to go.
            throw new CurlTransferException(response.Headers.Location is null
                ? string.Create(CultureInfo.InvariantCulture, $"The requested URL returned redirect {status} without a location")
                : string.Create(CultureInfo.InvariantCulture, $"Maximum ({MaxRedirects}) redirects followed"));
        }
    }
}
