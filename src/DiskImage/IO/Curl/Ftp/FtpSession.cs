using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace DiskImage.IO.Curl.Ftp;

/// <summary>
/// One logged-in FTP control connection, in the directory of the file, as libcurl drives it for QEMU's curl driver:
/// welcome, <c>USER</c>/<c>PASS</c>, for ftps <c>PBSZ 0</c> and <c>PROT P</c>, one <c>CWD</c> per directory, then
/// <c>TYPE I</c>, <c>SIZE</c>, and per range <c>EPSV</c> (or <c>PASV</c> when the server refuses it), <c>REST</c>
/// and <c>RETR</c>, the data connection being closed as soon as the range is read. Failures are
/// <see cref="CurlTransferException"/> in libcurl's words; every wait honours the caller's token.
/// </summary>
internal sealed class FtpSession : IDisposable
{
    /// <summary>libcurl (GnuTLS) on a certificate it cannot verify.</summary>
    public const string CertificateFailure = "server certificate verification failed. CAfile: none CRLfile: none";

    /// <summary>libcurl (GnuTLS) when the peer does not speak TLS.</summary>
    public const string HandshakeFailure = "gnutls_handshake() failed: An unexpected TLS packet was received.";

    /// <summary>How many preliminary (1xx) replies are skipped before a final one is required.</summary>
    private const int MaxPreliminaryReplies = 8;

    /// <summary>How long the final reply of a transfer cut short is waited for before the connection is given up.</summary>
    private static readonly TimeSpan s_closingGrace = TimeSpan.FromSeconds(2);

    private readonly Socket _socket;
    private readonly Stream _control;
    private readonly FtpLocation _location;
    private readonly bool _verify;
    private readonly byte[] _buffer = new byte[FtpReply.MaxReplyBytes + FtpReply.MaxLineLength];
    private int _filled;
    private bool _epsvRefused;
    private bool _binary;

    private FtpSession(Socket socket, Stream control, FtpLocation location, bool verify)
    {
        _socket = socket;
        // Only the goodbye is written synchronously; a peer that reads nothing must not hold it.
        _socket.SendTimeout = 2000;
        _control = control;
        _location = location;
        _verify = verify;
    }

    /// <summary>Whether the connection may serve another transfer.</summary>
    public bool Reusable { get; private set; } = true;

    /// <summary>Connects, logs in and changes into the file's directory.</summary>
    public static async Task<FtpSession> OpenAsync(FtpLocation location, string user, string password, bool verify, CancellationToken token)
    {
        var socket = await ConnectAsync(location.Host, location.Port, null, token).ConfigureAwait(false);
        FtpSession? session = null;
        try
        {
            Stream control = new NetworkStream(socket, ownsSocket: false);
            if (location.ImplicitTls)
            {
                control = await SecureAsync(control, location.Host, verify, token).ConfigureAwait(false);
            }

            session = new FtpSession(socket, control, location, verify);
            await session.LoginAsync(user, password, token).ConfigureAwait(false);
            return session;
        }
        catch
        {
            if (session is null)
            {
                socket.Dispose();
            }
            else
            {
                session.Dispose();
            }

            throw;
        }
    }

    /// <summary>The file's size from <c>SIZE</c>, or null when the server does not say (or names no file).</summary>
    public async Task<long?> SizeAsync(CancellationToken token)
    {
        if (_location.FileName.Length == 0)
        {
            return null;
        }

        await BinaryAsync(token).ConfigureAwait(false);
        var reply = await CommandAsync("SIZE " + _location.FileName, token).ConfigureAwait(false);
        if (reply.Code == 550)
        {
            throw new CurlTransferException("The file does not exist");
        }

        var text = reply.Text.Trim();
        return reply.Code == 213 && text.Length is > 0 and <= 19 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;
    }

    /// <summary>Exactly <paramref name="count"/> bytes of the file from <paramref name="offset"/>.</summary>
    public async Task<byte[]> RetrieveAsync(long offset, int count, TransferProgress progress, CancellationToken token)
    {
        if (_location.FileName.Length == 0)
        {
            throw new CurlTransferException("The file does not exist");
        }

        var port = await PassiveAsync(token).ConfigureAwait(false);
        var peer = ((IPEndPoint)_socket.RemoteEndPoint!).Address;
        var dataSocket = await ConnectAsync(peer.ToString(), port, peer, token).ConfigureAwait(false);
        Stream data = new NetworkStream(dataSocket, ownsSocket: true);
        var result = new byte[count];
        try
        {
            await BinaryAsync(token).ConfigureAwait(false);
            if (offset > 0)
            {
                var rest = await CommandAsync(string.Create(CultureInfo.InvariantCulture, $"REST {offset}"), token).ConfigureAwait(false);
                if (rest.Code != 350)
                {
                    throw new CurlTransferException("Couldn't use REST");
                }
            }

            await SendAsync("RETR " + _location.FileName, token).ConfigureAwait(false);
            var start = await ReadReplyAsync(token).ConfigureAwait(false);
            if (!start.IsPreliminary)
            {
                throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"RETR response: {start.Code:D3}"));
            }

            if (_location.ImplicitTls)
            {
                data = await SecureAsync(data, _location.Host, _verify, token).ConfigureAwait(false);
            }

            var received = 0;
            while (received < count)
            {
                var n = await data.ReadAsync(result.AsMemory(received), token).ConfigureAwait(false);
                if (n == 0)
                {
                    Reusable = false;
                    throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Received only partial file: {received} bytes"));
                }

                received += n;
                progress.Received += n;
            }
        }
        finally
        {
            // Closing the data connection ends the transfer where the range does (the server answers 426 or 226).
            await data.DisposeAsync().ConfigureAwait(false);
        }

        await FinishTransferAsync(token).ConfigureAwait(false);
        return result;
    }

    /// <summary>Reads the transfer's final reply; a server that does not send one in time loses the connection, not the data.</summary>
    private async Task FinishTransferAsync(CancellationToken token)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(token);
        grace.CancelAfter(s_closingGrace);
        try
        {
            await ReadFinalReplyAsync(grace.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or CurlTransferException or IOException or SocketException)
        {
            Reusable = false;
        }
    }

    public void Dispose()
    {
        if (Reusable)
        {
            try
            {
                // A polite goodbye (through TLS for ftps), its answer not waited for.
                _control.Write("QUIT\r\n"u8);
                _control.Flush();
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
            }
        }

        _control.Dispose();
        _socket.Dispose();
    }

    private async Task LoginAsync(string user, string password, CancellationToken token)
    {
        var welcome = await ReadFinalReplyAsync(token).ConfigureAwait(false);
        if (welcome.Code != 220)
        {
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Got a {welcome.Code:D3} ftp-server response when 220 was expected"));
        }

        var reply = await CommandAsync("USER " + user, token).ConfigureAwait(false);
        if (reply.Code == 331)
        {
            reply = await CommandAsync("PASS " + password, token).ConfigureAwait(false);
        }

        if (reply.Code == 332)
        {
            throw new CurlTransferException("ACCT requested but none available");
        }

        if (reply.Code is not (230 or 202))
        {
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Access denied: {reply.Code:D3}"));
        }

        if (_location.ImplicitTls)
        {
            // Data connections are TLS too (RFC 4217); a server that cannot do that is refused.
            await CommandAsync("PBSZ 0", token).ConfigureAwait(false);
            if (!(await CommandAsync("PROT P", token).ConfigureAwait(false)).IsSuccess)
            {
                throw new CurlTransferException("Server refused to protect the data connection (PROT P)");
            }
        }

        foreach (var directory in _location.Directories)
        {
            if (!(await CommandAsync("CWD " + directory, token).ConfigureAwait(false)).IsSuccess)
            {
                throw new CurlTransferException("Server denied you to change to the given directory");
            }
        }
    }

    private async Task BinaryAsync(CancellationToken token)
    {
        if (!_binary)
        {
            if (!(await CommandAsync("TYPE I", token).ConfigureAwait(false)).IsSuccess)
            {
                throw new CurlTransferException("Couldn't set desired mode");
            }

            _binary = true;
        }
    }

    /// <summary>The port of a passive data connection: EPSV first, PASV once a server refuses EPSV.</summary>
    private async Task<int> PassiveAsync(CancellationToken token)
    {
        if (!_epsvRefused)
        {
            var epsv = await CommandAsync("EPSV", token).ConfigureAwait(false);
            if (epsv.Code == 229)
            {
                return FtpPassiveReply.ParseEpsv(epsv.Text) ?? throw new CurlTransferException("Weirdly formatted EPSV reply");
            }

            _epsvRefused = true;
        }

        var pasv = await CommandAsync("PASV", token).ConfigureAwait(false);
        if (pasv.Code != 227)
        {
            throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Bad PASV/EPSV response: {pasv.Code:D3}"));
        }

        // The address in the reply is not used: the data connection goes to the control connection's peer.
        return (FtpPassiveReply.ParsePasv(pasv.Text) ?? throw new CurlTransferException("Couldn't interpret the 227-response")).Port;
    }

    private async Task<FtpReply> CommandAsync(string command, CancellationToken token)
    {
        await SendAsync(command, token).ConfigureAwait(false);
        return await ReadFinalReplyAsync(token).ConfigureAwait(false);
    }

    private async Task SendAsync(string command, CancellationToken token)
    {
        Debug.Assert(!command.Any(char.IsControl), "URL parts are checked for control characters");
        await _control.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), token).ConfigureAwait(false);
        await _control.FlushAsync(token).ConfigureAwait(false);
    }

    private async Task<FtpReply> ReadFinalReplyAsync(CancellationToken token)
    {
        for (var i = 0; ; i++)
        {
            var reply = await ReadReplyAsync(token).ConfigureAwait(false);
            if (!reply.IsPreliminary || i >= MaxPreliminaryReplies)
            {
                return reply.IsPreliminary ? throw new CurlTransferException("Weird server reply") : reply;
            }
        }
    }

    private async Task<FtpReply> ReadReplyAsync(CancellationToken token)
    {
        while (true)
        {
            switch (FtpReply.TryParse(_buffer.AsSpan(0, _filled), out var reply, out var consumed))
            {
                case FtpReplyStatus.Complete:
                    _buffer.AsSpan(consumed, _filled - consumed).CopyTo(_buffer);
                    _filled -= consumed;
                    return reply;
                case FtpReplyStatus.Malformed:
                    Reusable = false;
                    throw new CurlTransferException("Weird server reply");
            }

            if (_filled == _buffer.Length)
            {
                Reusable = false;
                throw new CurlTransferException("Weird server reply");
            }

            var n = await _control.ReadAsync(_buffer.AsMemory(_filled), token).ConfigureAwait(false);
            if (n == 0)
            {
                Reusable = false;
                throw new CurlTransferException("response reading failed");
            }

            _filled += n;
        }
    }

    private static async Task<Socket> ConnectAsync(string host, int port, IPAddress? address, CancellationToken token)
    {
        IPAddress[] addresses;
        if (address is not null || IPAddress.TryParse(host, out address))
        {
            addresses = [address];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new CurlTransferException($"Could not resolve host: {host}", e);
            }
        }

        var watch = Stopwatch.StartNew();
        foreach (var candidate in addresses)
        {
            var socket = new Socket(candidate.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(candidate, port), token).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new CurlTransferException(string.Create(CultureInfo.InvariantCulture, $"Failed to connect to {host} port {port} after {watch.ElapsedMilliseconds} ms: Couldn't connect to server"));
    }

    private static async Task<Stream> SecureAsync(Stream plain, string host, bool verify, CancellationToken token)
    {
        var refused = false;
        var ssl = new SslStream(plain, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            RemoteCertificateValidationCallback = (_, _, _, errors) =>
            {
                refused = verify && errors != SslPolicyErrors.None;
                return !refused;
            },
        };
        try
        {
            await ssl.AuthenticateAsClientAsync(options, token).ConfigureAwait(false);
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new CurlTransferException(refused ? CertificateFailure : HandshakeFailure, e);
        }
    }
}
