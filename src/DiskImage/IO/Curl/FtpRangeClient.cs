using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using DiskImage.IO.Curl.Ftp;

namespace DiskImage.IO.Curl;

/// <summary>
/// FTP and FTPS (TLS from the first byte, as libcurl's <c>ftps://</c>) as QEMU's curl driver uses them: the size from
/// <c>SIZE</c> (a server that does not answer it gives no size, and the open fails as QEMU's does), each range from
/// <c>REST</c> and <c>RETR</c> over a passive data connection that is closed once the range is read. Logged-in
/// control connections are kept for the next range (at most <see cref="MaxIdleSessions"/>); each call has the node's
/// timeout, login included. Without a user name the login is anonymous, as libcurl's.
/// </summary>
internal sealed class FtpRangeClient : IRangeClient
{
    /// <summary>How many idle logged-in connections are kept.</summary>
    public const int MaxIdleSessions = 4;

    /// <summary>libcurl's password for an anonymous login.</summary>
    private const string AnonymousPassword = "ftp@example.com";

    private readonly CurlOptions _options;
    private readonly FtpLocation _location;
    private readonly string _user;
    private readonly string _password;
    private readonly Stack<FtpSession> _idle = new();
    private readonly object _gate = new();
    private bool _disposed;

    public FtpRangeClient(CurlOptions options, string? password)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _location = FtpLocation.Parse(options.Url);
        _user = options.Username ?? _location.User ?? "anonymous";
        // As libcurl: the username option replaces the URL's user and password; without any user the login is anonymous.
        _password = password ?? (options.Username is not null ? "" : _location.Password ?? (_location.User is null ? AnonymousPassword : ""));
    }

    /// <summary>The file's size from <c>SIZE</c>; a file the server has no size for cannot be opened.</summary>
    public long Size() =>
        Run(async (session, _, token) => await session.SizeAsync(token).ConfigureAwait(false))
        ?? throw new CurlTransferException("Server didn't report file size.");

    /// <inheritdoc/>
    public byte[] Fetch(long offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return Run((session, progress, token) => session.RetrieveAsync(offset, count, progress, token));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            while (_idle.TryPop(out var session))
            {
                session.Dispose();
            }
        }
    }

    private T Run<T>(Func<FtpSession, TransferProgress, CancellationToken, Task<T>> transfer)
    {
        using var timeout = new CancellationTokenSource();
        if (_options.Timeout != 0)
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.Timeout));
        }

        var watch = Stopwatch.StartNew();
        var progress = new TransferProgress();
        try
        {
            return RunAsync(transfer, progress, timeout.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested)
        {
            throw CurlTransferException.TimedOut(watch.ElapsedMilliseconds, progress.Received, e);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            throw new CurlTransferException($"Recv failure: {(e.InnerException as SocketException ?? e).Message}", e);
        }
    }

    private async Task<T> RunAsync<T>(Func<FtpSession, TransferProgress, CancellationToken, Task<T>> transfer, TransferProgress progress, CancellationToken token)
    {
        var session = Take() ?? await FtpSession.OpenAsync(_location, _user, _password, _options.SslVerify, token).ConfigureAwait(false);
        try
        {
            var result = await transfer(session, progress, token).ConfigureAwait(false);
            Return(session);
            return result;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private FtpSession? Take()
    {
        lock (_gate)
        {
            return _idle.TryPop(out var session) ? session : null;
        }
    }

    private void Return(FtpSession session)
    {
        lock (_gate)
        {
            if (session.Reusable && !_disposed && _idle.Count < MaxIdleSessions)
            {
                _idle.Push(session);
                return;
            }
        }

        session.Dispose();
    }
}
