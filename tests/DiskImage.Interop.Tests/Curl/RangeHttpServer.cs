using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>How a <see cref="RangeHttpServer"/> answers.</summary>
public enum ServerBehaviour
{
    /// <summary>HEAD with <c>Accept-Ranges: bytes</c>, GETs with the range asked for.</summary>
    Honest,

    /// <summary>No <c>Accept-Ranges</c>, and a GET gets the whole file with 200.</summary>
    NoRanges,

    /// <summary>206 with a Content-Range one byte off the range asked for.</summary>
    WrongRange,

    /// <summary>206 with the right headers but half the body, then the connection closes.</summary>
    ShortBody,

    /// <summary>HEAD says the file is 2^62 bytes.</summary>
    HugeLength,

    /// <summary>Every request is redirected to itself.</summary>
    RedirectLoop,

    /// <summary>Every request is redirected once, to the same path under <c>/real</c>.</summary>
    RedirectOnce,

    /// <summary>HEAD is honest; a GET is read and never answered.</summary>
    StallReads,

    /// <summary>HEAD without a Content-Length.</summary>
    NoLength,
}

/// <summary>
/// A small HTTP/1.1 server over a directory for the curl driver tests: HEAD and single-range GET, optionally over TLS
/// (a self-signed certificate made here), with misbehaviours to choose from and a hook that may rewrite each GET's
/// response head. Requests are logged as "METHOD /path RANGE".
/// </summary>
public sealed partial class RangeHttpServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly string _root;
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();

    public RangeHttpServer(string root, bool tls = false, ServerBehaviour behaviour = ServerBehaviour.Honest)
    {
        _root = root;
        Behaviour = behaviour;
        _certificate = tls ? SelfSigned() : null;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    public ServerBehaviour Behaviour { get; set; }

    /// <summary>Rewrites the head (status line and headers, CRLF-terminated) of each GET response; null leaves it.</summary>
    public Func<byte[], byte[]>? RewriteHead { get; set; }

    public ConcurrentQueue<string> Requests { get; } = new();

    public string Url(string name) => $"{(_certificate is null ? "http" : "https")}://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{name}";

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _certificate?.Dispose();
        _stop.Dispose();
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        try
        {
            System.IO.Stream stream = client.GetStream();
            if (_certificate is not null)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsServerAsync(_certificate).ConfigureAwait(false);
                stream = ssl;
            }

            await using (stream.ConfigureAwait(false))
            {
                while (await ReadHead(stream).ConfigureAwait(false) is { } head)
                {
                    if (!await Answer(stream, head).ConfigureAwait(false))
                    {
                        return;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // The client went away or refused the certificate.
        }
    }

    private static async Task<string?> ReadHead(System.IO.Stream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one).ConfigureAwait(false) == 0 || head.Length > 16384)
            {
                return null;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    /// <summary>Answers one request; false closes the connection.</summary>
    private async Task<bool> Answer(System.IO.Stream stream, string head)
    {
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        var (method, path) = (parts[0], parts[1]);
        var rangeMatch = lines.Select(l => RangeHeader().Match(l)).FirstOrDefault(m => m.Success);
        Requests.Enqueue($"{method} {path} {(rangeMatch is null ? "" : rangeMatch.Groups[1].Value + "-" + rangeMatch.Groups[2].Value)}");
        if (Behaviour == ServerBehaviour.RedirectLoop || (Behaviour == ServerBehaviour.RedirectOnce && !path.StartsWith("/real/", StringComparison.Ordinal)))
        {
            var target = Behaviour == ServerBehaviour.RedirectLoop ? path : "/real" + path;
            await Write(stream, $"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n", []).ConfigureAwait(false);
            return true;
        }

        var name = Uri.UnescapeDataString(path.Split('?')[0].Replace("/real/", "/", StringComparison.Ordinal).TrimStart('/'));
        var file = Path.Combine(_root, name);
        if (name.Contains("..", StringComparison.Ordinal) || !File.Exists(file))
        {
            await Write(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", []).ConfigureAwait(false);
            return true;
        }

        var data = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
        if (method == "HEAD")
        {
            var length = Behaviour == ServerBehaviour.HugeLength ? 1L << 62 : data.Length;
            var ranges = Behaviour == ServerBehaviour.NoRanges ? "" : "Accept-Ranges: bytes\r\n";
            var lengthHeader = Behaviour == ServerBehaviour.NoLength ? "" : $"Content-Length: {length.ToString(CultureInfo.InvariantCulture)}\r\n";
            await Write(stream, $"HTTP/1.1 200 OK\r\n{ranges}{lengthHeader}\r\n", []).ConfigureAwait(false);
            return Behaviour != ServerBehaviour.NoLength;
        }

        if (Behaviour == ServerBehaviour.StallReads)
        {
            await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
        }

        if (rangeMatch is null || Behaviour == ServerBehaviour.NoRanges)
        {
            await Write(stream, $"HTTP/1.1 200 OK\r\nContent-Length: {data.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n", data).ConfigureAwait(false);
            return true;
        }

        var first = long.Parse(rangeMatch.Groups[1].Value, CultureInfo.InvariantCulture);
        var last = Math.Min(long.Parse(rangeMatch.Groups[2].Value, CultureInfo.InvariantCulture), data.Length - 1);
        var body = first < data.Length ? data.AsSpan((int)first, (int)(last - first + 1)).ToArray() : [];
        var shownFirst = Behaviour == ServerBehaviour.WrongRange ? first + 1 : first;
        var sentBody = Behaviour == ServerBehaviour.ShortBody ? body.AsSpan(0, body.Length / 2).ToArray() : body;
        var responseHead = $"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {shownFirst.ToString(CultureInfo.InvariantCulture)}-{last.ToString(CultureInfo.InvariantCulture)}/{data.Length.ToString(CultureInfo.InvariantCulture)}\r\nContent-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n";
        await Write(stream, responseHead, sentBody).ConfigureAwait(false);
        return Behaviour != ServerBehaviour.ShortBody && RewriteHead is null;
    }

    private async Task Write(System.IO.Stream stream, string head, byte[] body)
    {
        var headBytes = Encoding.ASCII.GetBytes(head);
        if (RewriteHead is { } rewrite && !head.Contains("Accept-Ranges", StringComparison.Ordinal) && head.StartsWith("HTTP/1.1 206", StringComparison.Ordinal))
        {
            headBytes = rewrite(headBytes);
        }

        await stream.WriteAsync(headBytes).ConfigureAwait(false);
        await stream.WriteAsync(body).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    [GeneratedRegex(@"^Range: bytes=(\d+)-(\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex RangeHeader();
}
