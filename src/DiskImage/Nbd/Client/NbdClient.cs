using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Nbd.Client;

/// <summary>
/// A connection to an NBD export, after a fixed newstyle handshake (structured replies and <c>base:allocation</c>
/// when the server has them) or an oldstyle one. Requests from any thread are pipelined on the one connection
/// (<see cref="NbdPipeline"/>), and a caller's large range goes out as several requests in flight. With
/// <c>reconnect-delay</c>, a connection the server drops is made again and the requests it left unanswered are sent
/// again on the new one. Every length the server sends is bounded before use.
/// </summary>
public sealed partial class NbdClient : IDisposable
{
    private const int MaxOptionReply = 64 << 10;
    private const uint BlockStatusRequestLimit = 1u << 30;

    /// <summary>Reserved bytes after an oldstyle greeting's size and flags.</summary>
    private const int OldstylePadding = 124;

    private readonly object _connectGate = new();
    private Socket _socket;
    private Stream _stream;
    private uint? _baseAllocationId;
    private NbdPipeline? _pipeline;
    private NbdUri? _uri;
    private NbdTlsCredentials? _credentials;

    /// <summary>While requests may wait for a new connection: until this tick count, set when a drop is first seen.</summary>
    private long? _waitUntil;
    private volatile bool _disposed;

    private NbdClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Export size in bytes.</summary>
    public long Size { get; private set; }

    /// <summary>Transmission flags the server sent for the export.</summary>
    public NbdTransmissionFlags Flags { get; private set; }

    /// <summary>Largest payload per request the server accepts.</summary>
    public int MaxPayload { get; private set; } = NbdConstants.MaxPayload;

    /// <summary>Whether structured replies were negotiated (needed for block status and sparse reads).</summary>
    public bool Structured { get; private set; }

    /// <summary>Whether the server offered <c>base:allocation</c>, so holes can be asked for.</summary>
    public bool HasBlockStatus => _baseAllocationId is not null;

    /// <summary>Seconds a dropped connection is waited for (qemu's <c>reconnect-delay</c>); 0: a drop fails the requests.</summary>
    private uint ReconnectDelay => _uri?.ReconnectDelay ?? 0;

    /// <summary>Connects and selects the export; failures become <see cref="ImageAccessException"/>.</summary>
    /// <remarks>With <paramref name="credentials"/>, the server's certificate must name <c>tls-hostname</c>, else the URI's host.</remarks>
    public static NbdClient Connect(NbdUri uri, NbdTlsCredentials? credentials)
    {
        ArgumentNullException.ThrowIfNull(uri);
        // Credentials are checked before the server is contacted.
        var security = Security.For(uri, credentials);
        var client = Open(uri, security, ConnectSocket(uri), deadline: null);
        client._uri = uri;
        client._credentials = credentials;
        return client;
    }

    /// <summary>
    /// The handshake on a connected socket. With a <paramref name="deadline"/> (a tick count), a server that does not
    /// finish it in time fails it, so a reconnection never waits longer than its delay.
    /// </summary>
    private static NbdClient Open(NbdUri uri, Security security, Socket socket, long? deadline)
    {
        var (tls, psk, rejection) = security;
        var client = new NbdClient(socket);
        try
        {
            if (deadline is { } end)
            {
                socket.ReceiveTimeout = socket.SendTimeout = (int)Math.Clamp(end - Environment.TickCount64, 1, int.MaxValue);
            }

            client.Handshake(uri.ExportName, tls, psk, uri.DirtyBitmap);
            socket.ReceiveTimeout = socket.SendTimeout = 0;
            client._pipeline = new NbdPipeline(socket, client._stream, client.Structured, client._baseAllocationId);
            return client;
        }
        catch (System.Security.Authentication.AuthenticationException e) when (rejection.Reason is { } reason)
        {
            client.Dispose();
            throw new ImageAccessException(reason, e);
        }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException)
        {
            client.Dispose();
            throw new ImageAccessException($"Failed to negotiate with the NBD server: {e.Message}", e);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects to the server's address. With <c>open-timeout</c>, a failed attempt is repeated after 1, 2, 4 ... (at
    /// most 16) seconds, as QEMU's connection thread does, until the timeout has passed; then the last failure counts.
    /// </summary>
    private static Socket ConnectSocket(NbdUri uri)
    {
        // A fine clock: Environment.TickCount64 is the kernel's coarse one, which may lag by a tick and end the wait early.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var timeout = uri.OpenTimeout * 1000L;
        var pause = 1000L;
        while (true)
        {
            try
            {
                return ConnectOnce(uri, deadline: null);
            }
            catch (Exception e) when (e is SocketException or ImageAccessException)
            {
                var left = timeout - clock.ElapsedMilliseconds;
                if (left > 0)
                {
                    // The next attempt comes after the pause; a deadline that falls within it ends the wait there.
                    Thread.Sleep((int)Math.Min(pause, left));
                    if (pause < left)
                    {
                        pause = Math.Min(pause * 2, 16000);
                        continue;
                    }
                }

                if (e is ImageAccessException)
                {
                    throw;
                }

                var reason = ((SocketException)e).SocketErrorCode == SocketError.ConnectionRefused ? "Connection refused"
                    : uri.SocketPath is { } missing && !File.Exists(missing) ? "No such file or directory"
                    : e.Message;
                throw new ImageAccessException($"Failed to connect to '{uri.SocketPath ?? $"{uri.Host}:{uri.Port}"}': {reason}", e);
            }
        }
    }

    /// <summary>One connection attempt; with a <paramref name="deadline"/>, one that has not succeeded by then is given up.</summary>
    private static Socket ConnectOnce(NbdUri uri, long? deadline)
    {
        if (deadline is null && uri.SocketPath is null)
        {
            // Resolved and tried address by address as QEMU does, failing in its words.
            return InetSockets.Connect(uri.Host!, uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var socket = uri.SocketPath is not null
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (deadline is not { } end)
            {
                socket.Connect(new UnixDomainSocketEndPoint(uri.SocketPath!));
                return socket;
            }

            using var limit = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Max(1, end - Environment.TickCount64)));
            var attempt = uri.SocketPath is { } socketPath
                ? socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), limit.Token)
                : socket.ConnectAsync(uri.Host!, uri.Port, limit.Token);
            try
            {
                attempt.AsTask().GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                throw new SocketException((int)SocketError.TimedOut);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends <paramref name="calls"/> and waits for their replies. When the connection drops and
    /// <c>reconnect-delay</c> is set, the calls not yet answered wait for a new connection and go out again on it, as
    /// QEMU's nbd driver replays them; once the delay has passed without one, they fail with EIO, and so do later
    /// requests while no connection can be made at once.
    /// </summary>
    private void Run(NbdCall[] calls, Span<byte> readBuffer, ReadOnlySpan<byte> writeSource)
    {
        while (true)
        {
            var pipeline = Pipeline;
            try
            {
                pipeline.Execute(calls, readBuffer, writeSource);
                return;
            }
            catch (IOException) when (ReconnectDelay > 0 && !_disposed)
            {
                // A protocol violation or a refused request is no connection loss: only a dropped connection gets here.
                // A request the server answered with an error before the drop stays refused.
                NbdPipeline.ThrowIfRefused(calls);
                calls = [.. calls.Where(c => !c.Done)];
                foreach (var call in calls)
                {
                    call.Reset();
                }

                Reconnect(pipeline);
            }
        }
    }

    /// <summary>
    /// Replaces the connection <paramref name="failed"/> with a new one (unless another thread did already). While
    /// the delay since the drop lasts, attempts are repeated after 1, 2, 4 ... (at most 16) seconds, as QEMU's
    /// connection thread does; after it, one attempt is made. Throws EIO when there is no new connection.
    /// </summary>
    private void Reconnect(NbdPipeline failed)
    {
        lock (_connectGate)
        {
            if (!ReferenceEquals(_pipeline, failed))
            {
                return;
            }

            var now = Environment.TickCount64;
            _waitUntil ??= now + (ReconnectDelay * 1000L);
            var waitUntil = _waitUntil.Value;
            var waiting = now < waitUntil;
            // After the delay, one attempt, still bounded: a server that accepts and then says nothing cannot hold it.
            var deadline = waiting ? waitUntil : now + (ReconnectDelay * 1000L);
            var pause = 1000L;
            while (!_disposed)
            {
                if (TryConnectAgain(deadline) is { } fresh)
                {
                    Adopt(fresh);
                    _waitUntil = null;
                    return;
                }

                var left = waitUntil - Environment.TickCount64;
                if (!waiting || left <= 0)
                {
                    break;
                }

                Thread.Sleep((int)Math.Min(pause, left));
                pause = Math.Min(pause * 2, 16000);
            }

            throw new IOException("Input/output error", 5);
        }
    }

    /// <summary>
    /// One attempt at a new connection to the same export. One that describes a different export (another size,
    /// or read-only where the first was writable) is not used: requests meant for the first must not land there.
    /// </summary>
    private NbdClient? TryConnectAgain(long deadline)
    {
        try
        {
            var fresh = Open(_uri!, Security.For(_uri!, _credentials), ConnectOnce(_uri!, deadline), deadline);
            if (fresh.Size == Size && ((fresh.Flags & NbdTransmissionFlags.ReadOnly) == 0 || (Flags & NbdTransmissionFlags.ReadOnly) != 0))
            {
                return fresh;
            }

            fresh.Dispose();
        }
        catch (Exception e) when (e is DiskImageException or IOException or SocketException or System.Security.Authentication.AuthenticationException)
        {
            // A failed attempt; the caller tries again while the delay lasts.
        }

        return null;
    }

    /// <summary>What a handshake needs of the credentials: TLS options or a PSK, and where a refusal's reason is kept.</summary>
    private sealed record Security(SslClientAuthenticationOptions? Tls, (string Username, byte[] HexKey)? Psk, NbdTlsRejection Rejection)
    {
        public static Security For(NbdUri uri, NbdTlsCredentials? credentials)
        {
            var rejection = new NbdTlsRejection();
            var tls = credentials is { IsPsk: false } ? credentials.ClientOptions(uri.TlsHostname ?? uri.Host, rejection) : null;
            var psk = credentials is { IsPsk: true } ? credentials.PskClientKey() : ((string, byte[])?)null;
            return new Security(tls, psk, rejection);
        }
    }

    /// <summary>Takes over a new connection's socket and negotiated values; the dropped one is closed.</summary>
    private void Adopt(NbdClient fresh)
    {
        var (oldPipeline, oldSocket) = (_pipeline, _socket);
        _socket = fresh._socket;
        _stream = fresh._stream;
        _baseAllocationId = fresh._baseAllocationId;
        Structured = fresh.Structured;
        MaxPayload = fresh.MaxPayload;
        Flags = fresh.Flags;
        Volatile.Write(ref _pipeline, fresh._pipeline);
        fresh._pipeline = null;
        oldPipeline?.Dispose();
        oldSocket.Dispose();
    }

    private void Handshake(string export, SslClientAuthenticationOptions? tls, (string Username, byte[] HexKey)? psk, string? dirtyBitmap)
    {
        Span<byte> greeting = stackalloc byte[16];
        _stream.ReadExactly(greeting);
        var magic = BinaryPrimitives.ReadUInt64BigEndian(greeting);
        if (magic != NbdConstants.NbdMagic)
        {
            throw new ImageAccessException($"Bad initial magic received: 0x{magic:x}");
        }

        magic = BinaryPrimitives.ReadUInt64BigEndian(greeting[8..]);
        if (magic == NbdConstants.OldstyleMagic)
        {
            OldstyleHandshake(export, tls is not null || psk is not null, dirtyBitmap);
            return;
        }

        if (magic != NbdConstants.OptionMagic)
        {
            throw new ImageAccessException($"Bad server magic received: 0x{magic:x}");
        }

        Span<byte> globalFlags = stackalloc byte[2];
        _stream.ReadExactly(globalFlags);
        var serverFlags = BinaryPrimitives.ReadUInt16BigEndian(globalFlags);
        var fixedNewstyle = (serverFlags & NbdConstants.FlagFixedNewstyle) != 0;
        var clientFlags = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(clientFlags, (fixedNewstyle ? NbdConstants.FlagFixedNewstyle : 0u) | (uint)(serverFlags & NbdConstants.FlagNoZeroes));
        WriteField(clientFlags, "clientflags field");
        if (!fixedNewstyle)
        {
            ExportNameHandshake(export, tls is not null || psk is not null, zeroes: (serverFlags & NbdConstants.FlagNoZeroes) == 0, dirtyBitmap);
            return;
        }

        if (tls is not null || psk is not null)
        {
            SendOption(NbdOption.StartTls, []);
            var (type, data) = ReadOptionReply(NbdOption.StartTls);
            if (type == NbdOptionReply.ErrorUnsupported)
            {
                throw new ImageAccessException("Server don't support STARTTLS option");
            }

            if (NbdOptionError.IsError(type))
            {
                throw new ImageAccessException(NbdOptionError.Describe(NbdOption.StartTls, type, data));
            }

            if (type != NbdOptionReply.Ack)
            {
                throw new ImageAccessException($"Server refused TLS: {Describe(type, data)}");
            }

            if (psk is { } key)
            {
                _stream.Dispose();
                _stream = GnuTlsPskStream.Connect(_socket, key.Username, key.HexKey);
            }
            else
            {
                var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
                ssl.AuthenticateAsClient(tls!);
                _stream = ssl;
            }
        }

        SendOption(NbdOption.StructuredReply, []);
        // Any error here only means simple replies, as for qemu's client; a server that wants TLS first says so
        // again for the export, where the error is reported.
        var (structured, _) = ReadOptionReply(NbdOption.StructuredReply);
        Structured = structured == NbdOptionReply.Ack;
        if (Structured)
        {
            SetBaseAllocation(export, dirtyBitmap ?? NbdConstants.BaseAllocation);
        }

        if (dirtyBitmap is not null && _baseAllocationId is null)
        {
            // qemu's client reports only the errno of its failed open here ("requested x-dirty-bitmap ... not found"
            // is a trace of its own).
            throw new InvalidOptionException("Could not open image: Invalid argument");
        }

        var name = Encoding.UTF8.GetBytes(export);
        var go = new byte[4 + name.Length + 4];
        BinaryPrimitives.WriteUInt32BigEndian(go, (uint)name.Length);
        name.CopyTo(go, 4);
        BinaryPrimitives.WriteUInt16BigEndian(go.AsSpan(4 + name.Length), 1);
        BinaryPrimitives.WriteUInt16BigEndian(go.AsSpan(6 + name.Length), (ushort)NbdInfo.BlockSize);
        SendOption(NbdOption.Go, go);
        var haveExport = false;
        while (true)
        {
            var (type, data) = ReadOptionReply(NbdOption.Go);
            if (type == NbdOptionReply.Ack)
            {
                break;
            }

            if (NbdOptionError.IsError(type))
            {
                throw new ImageAccessException(NbdOptionError.Describe(NbdOption.Go, type, data));
            }

            if (type != NbdOptionReply.Info)
            {
                throw new ImageAccessException($"Requested export not available\nserver reported: {Describe(type, data)}");
            }

            haveExport |= TakeInfo(data);
        }

        if (!haveExport)
        {
            throw new ImageAccessException("Server did not describe the export");
        }
    }

    /// <summary>
    /// Selects the meta context block status reads: <c>base:allocation</c>, or the one <c>x-dirty-bitmap</c> names,
    /// whose flags are then read as if they were <c>base:allocation</c>'s (QEMU's debugging aid for exported bitmaps).
    /// </summary>
    private void SetBaseAllocation(string export, string context)
    {
        var name = Encoding.UTF8.GetBytes(export);
        var query = Encoding.UTF8.GetBytes(context);
        var data = new byte[4 + name.Length + 4 + 4 + query.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4 + name.Length), 1);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8 + name.Length), (uint)query.Length);
        query.CopyTo(data, 12 + name.Length);
        SendOption(NbdOption.SetMetaContext, data);
        while (true)
        {
            var (type, reply) = ReadOptionReply(NbdOption.SetMetaContext);
            if (type == NbdOptionReply.MetaContext && reply.Length >= 4
                && Encoding.UTF8.GetString(reply.AsSpan(4)) == context)
            {
                _baseAllocationId = BinaryPrimitives.ReadUInt32BigEndian(reply);
            }
            else if (type != NbdOptionReply.MetaContext)
            {
                // ACK ends the list; an error means no block status, which only costs efficiency.
                return;
            }
        }
    }

    private void SendOption(NbdOption option, byte[] data)
    {
        var buffer = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, NbdConstants.OptionMagic);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(12), (uint)data.Length);
        data.CopyTo(buffer, 16);
        WriteField(buffer, "option request header");
    }

    /// <summary>Sends one handshake field; a server that hung up fails it as qemu names the field.</summary>
    private void WriteField(ReadOnlySpan<byte> field, string description)
    {
        try
        {
            _stream.Write(field);
        }
        catch (IOException e) when (_stream is not (SslStream or GnuTlsPskStream))
        {
            var reason = e.InnerException switch
            {
                SocketException { SocketErrorCode: SocketError.Shutdown } => "Unable to write to socket: Broken pipe",
                SocketException { SocketErrorCode: SocketError.ConnectionReset } => "Unable to write to socket: Connection reset by peer",
                _ => e.Message,
            };
            throw new ImageAccessException($"Failed to send {description}: {reason}", e);
        }
    }

    /// <summary>Reads one handshake field whole; a server that hangs up fails it as qemu names the field.</summary>
    private void ReadField(Span<byte> field, string description)
    {
        try
        {
            _stream.ReadExactly(field);
        }
        catch (IOException e)
        {
            throw new ImageAccessException($"Failed to read {description}: {ReadFailure(e)}", e);
        }
    }

    /// <summary>
    /// qemu's words for a server that hangs up instead of answering (a TLS peer refused after its handshake, such as by
    /// tls-authz, aborts the TLS channel without a close notification).
    /// </summary>
    private string ReadFailure(IOException e) =>
        _stream is SslStream or GnuTlsPskStream ? "Cannot read from TLS channel: Software caused connection abort"
        : e is EndOfStreamException ? "Unexpected end-of-file before all data were read"
        : e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset } ? "Unable to read from socket: Connection reset by peer"
        : e.Message;

    private (NbdOptionReply Type, byte[] Data) ReadOptionReply(NbdOption option)
    {
        var header = new byte[20];
        try
        {
            _stream.ReadExactly(header);
        }
        catch (IOException e)
        {
            throw new ImageAccessException($"Failed to read option reply: {ReadFailure(e)}", e);
        }

        if (BinaryPrimitives.ReadUInt64BigEndian(header) != NbdConstants.OptionReplyMagic || BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)) != (uint)option)
        {
            throw new ImageAccessException("Unexpected reply from the NBD server");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        if (length > MaxOptionReply)
        {
            throw new ImageAccessException("NBD server sent an oversized option reply");
        }

        var data = new byte[length];
        _stream.ReadExactly(data);
        return ((NbdOptionReply)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), data);
    }

    private static string Describe(NbdOptionReply type, byte[] data) =>
        data.Length > 0 ? Encoding.UTF8.GetString(data) : type.ToString();

    /// <summary>Bytes per read or write request when a caller's range is split: large enough to keep
    /// per-request costs small, small enough that several requests of one caller are in flight at once.</summary>
    /// <remarks>
    /// With <c>reconnect-delay</c>, a range goes out as QEMU's nbd driver sends it (one request up to the server's
    /// maximum), so what is replayed to a restarted server, request by request, is what QEMU would replay.
    /// </remarks>
    private int PieceSize => ReconnectDelay > 0 ? MaxPayload : Math.Min(MaxPayload, 1 << 20);

    /// <summary>Reads <c>buffer.Length</c> bytes at <paramref name="offset"/>, as several requests in flight.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        var calls = Split(NbdCommand.Read, NbdCommandFlags.None, offset, buffer.Length, PieceSize);
        Run(calls, buffer, []);
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> of the export, as several requests in flight.</summary>
    /// <param name="offset">Export offset.</param>
    /// <param name="data">The bytes to write.</param>
    /// <param name="fua">Ask the server to make the write durable before it replies.</param>
    public void Write(long offset, ReadOnlySpan<byte> data, bool fua)
    {
        var calls = Split(NbdCommand.Write, fua ? NbdCommandFlags.Fua : NbdCommandFlags.None, offset, data.Length, PieceSize);
        Run(calls, [], data);
    }

    /// <summary>Asks the server to make every completed write durable.</summary>
    public void Flush() => Run([new NbdCall(NbdCommand.Flush, NbdCommandFlags.None, 0, 0, 0)], [], []);

    /// <summary>Tells the server a range is no longer needed (it may read as anything afterwards).</summary>
    /// <param name="offset">Export offset.</param>
    /// <param name="length">Bytes to discard.</param>
    public void Trim(long offset, long length) =>
        Run(Split(NbdCommand.Trim, NbdCommandFlags.None, offset, length, ZeroPieceSize), [], []);

    /// <summary>Makes a range of the export read as zeroes.</summary>
    /// <param name="offset">Export offset.</param>
    /// <param name="length">Bytes to zero.</param>
    /// <param name="noHole">Ask the server to keep the range allocated rather than punch a hole.</param>
    public void WriteZeroes(long offset, long length, bool noHole) =>
        Run(Split(NbdCommand.WriteZeroes, noHole ? NbdCommandFlags.NoHole : NbdCommandFlags.None, offset, length, ZeroPieceSize), [], []);

    /// <summary>Largest range of one zeroing or discard request (no payload, so only the 32-bit length bounds it).</summary>
    private const int ZeroPieceSize = 1 << 30;

    /// <summary>
    /// <c>base:allocation</c> of a range starting at <paramref name="offset"/>: (length, flags) runs from the
    /// server, covering at least one byte and at most <paramref name="length"/>.
    /// </summary>
    public List<(long Length, NbdAllocationFlags Flags)> BlockStatus(long offset, long length)
    {
        var call = new NbdCall(NbdCommand.BlockStatus, NbdCommandFlags.None, offset, (uint)Math.Min(length, BlockStatusRequestLimit), 0) { Runs = [] };
        Run([call], [], []);
        return AlignedToMinBlock(call.Runs!);
    }

    private static NbdCall[] Split(NbdCommand command, NbdCommandFlags flags, long offset, long length, int piece)
    {
        var calls = new NbdCall[(int)((length + piece - 1) / piece)];
        for (var i = 0; i < calls.Length; i++)
        {
            var start = (long)i * piece;
            calls[i] = new NbdCall(command, flags, offset + start, (uint)Math.Min(piece, length - start), command is NbdCommand.Read or NbdCommand.Write ? (int)start : 0);
        }

        return calls;
    }

    private NbdPipeline Pipeline => Volatile.Read(ref _pipeline) ?? throw new InvalidOperationException("The NBD connection is not in its transmission phase");

    /// <inheritdoc/>
    public void Dispose()
    {
        _disposed = true;
        if (_pipeline is not null)
        {
            _pipeline.Dispose();
        }
        else
        {
            _stream.Dispose();
        }

        _socket.Dispose();
    }
}
