using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Nbd.Client;

/// <summary>
/// One connection to an NBD export, after a fixed newstyle handshake (structured replies and
/// <c>base:allocation</c> when the server has them). Requests take turns on the connection, so the
/// client is thread-safe. Every length the server sends is bounded before use.
/// </summary>
public sealed class NbdClient : IDisposable
{
    private const int MaxOptionReply = 64 << 10;
    private const uint BlockStatusRequestLimit = 1u << 30;

    private readonly Lock _gate = new();
    private readonly Socket _socket;
    private readonly byte[] _header = new byte[32];
    private Stream _stream;
    private ulong _cookie;
    private uint? _baseAllocationId;
    private bool _transmitting;

    private NbdClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Export size in bytes.</summary>
    public long Size { get; private set; }

    public NbdTransmissionFlags Flags { get; private set; }

    /// <summary>Largest payload per request the server accepts.</summary>
    public int MaxPayload { get; private set; } = NbdConstants.MaxPayload;

    public bool Structured { get; private set; }

    public bool HasBlockStatus => _baseAllocationId is not null;

    /// <summary>Connects and selects the export; failures become <see cref="ImageAccessException"/>.</summary>
    public static NbdClient Connect(NbdUri uri, SslClientAuthenticationOptions? tls)
    {
        ArgumentNullException.ThrowIfNull(uri);
        Socket socket;
        try
        {
            if (uri.SocketPath is { } path)
            {
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(path));
            }
            else
            {
                socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                socket.Connect(uri.Host!, uri.Port);
            }
        }
        catch (SocketException e)
        {
            var reason = e.SocketErrorCode == SocketError.ConnectionRefused ? "Connection refused"
                : uri.SocketPath is { } missing && !File.Exists(missing) ? "No such file or directory"
                : e.Message;
            throw new ImageAccessException($"Failed to connect to '{uri.SocketPath ?? $"{uri.Host}:{uri.Port}"}': {reason}", e);
        }

        var client = new NbdClient(socket);
        try
        {
            client.Handshake(uri.ExportName, tls, uri.Host ?? "localhost");
            client._transmitting = true;
            return client;
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

    private void Handshake(string export, SslClientAuthenticationOptions? tls, string host)
    {
        var greeting = new byte[18];
        _stream.ReadExactly(greeting);
        if (BinaryPrimitives.ReadUInt64BigEndian(greeting) != NbdConstants.NbdMagic || BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)) != NbdConstants.OptionMagic)
        {
            throw new ImageAccessException("Server is not a newstyle NBD server");
        }

        var serverFlags = BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16));
        if ((serverFlags & NbdConstants.FlagFixedNewstyle) == 0)
        {
            throw new ImageAccessException("Server does not support the fixed newstyle handshake");
        }

        var clientFlags = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(clientFlags, NbdConstants.FlagFixedNewstyle | (uint)(serverFlags & NbdConstants.FlagNoZeroes));
        _stream.Write(clientFlags);

        if (tls is not null)
        {
            SendOption(NbdOption.StartTls, []);
            var (type, data) = ReadOptionReply(NbdOption.StartTls);
            if (type != NbdOptionReply.Ack)
            {
                throw new ImageAccessException($"Server refused TLS: {Describe(type, data)}");
            }

            var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
            ssl.AuthenticateAsClient(tls);
            _stream = ssl;
        }

        SendOption(NbdOption.StructuredReply, []);
        var (structured, structuredData) = ReadOptionReply(NbdOption.StructuredReply);
        if (structured == NbdOptionReply.ErrorTlsRequired)
        {
            throw new ImageAccessException($"Server requires TLS: {Describe(structured, structuredData)}");
        }

        Structured = structured == NbdOptionReply.Ack;
        if (Structured)
        {
            SetBaseAllocation(export);
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

            if (type != NbdOptionReply.Info)
            {
                throw new ImageAccessException($"Requested export not available\nserver reported: {Describe(type, data)}");
            }

            if (data.Length >= 12 && BinaryPrimitives.ReadUInt16BigEndian(data) == (ushort)NbdInfo.Export)
            {
                var size = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(2));
                if (size > long.MaxValue)
                {
                    throw new ImageAccessException("NBD export size is out of range");
                }

                Size = (long)size;
                Flags = (NbdTransmissionFlags)BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(10));
                haveExport = true;
            }
            else if (data.Length >= 14 && BinaryPrimitives.ReadUInt16BigEndian(data) == (ushort)NbdInfo.BlockSize)
            {
                var maximum = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(10));
                MaxPayload = (int)Math.Clamp(maximum, 512u, (uint)NbdConstants.MaxPayload);
            }
        }

        if (!haveExport)
        {
            throw new ImageAccessException("Server did not describe the export");
        }
    }

    private void SetBaseAllocation(string export)
    {
        var name = Encoding.UTF8.GetBytes(export);
        var query = Encoding.UTF8.GetBytes(NbdConstants.BaseAllocation);
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
                && Encoding.UTF8.GetString(reply.AsSpan(4)) == NbdConstants.BaseAllocation)
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
        _stream.Write(buffer);
    }

    private (NbdOptionReply Type, byte[] Data) ReadOptionReply(NbdOption option)
    {
        var header = new byte[20];
        _stream.ReadExactly(header);
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

    /// <summary>Reads <c>buffer.Length</c> bytes (at most <see cref="MaxPayload"/>) at <paramref name="offset"/>.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        lock (_gate)
        {
            var cookie = Send(NbdCommand.Read, NbdCommandFlags.None, offset, (uint)buffer.Length, []);
            if (!Structured)
            {
                ReadSimpleReply(cookie, "read");
                _stream.ReadExactly(buffer);
                return;
            }

            ReadChunks(cookie, "read", offset, buffer, null);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data, bool fua) =>
        Simple(NbdCommand.Write, fua ? NbdCommandFlags.Fua : NbdCommandFlags.None, offset, (uint)data.Length, data, "write");

    public void Flush() => Simple(NbdCommand.Flush, NbdCommandFlags.None, 0, 0, [], "flush");

    public void Trim(long offset, uint length) => Simple(NbdCommand.Trim, NbdCommandFlags.None, offset, length, [], "discard");

    public void WriteZeroes(long offset, uint length, bool noHole) =>
        Simple(NbdCommand.WriteZeroes, noHole ? NbdCommandFlags.NoHole : NbdCommandFlags.None, offset, length, [], "write zeroes");

    /// <summary>
    /// <c>base:allocation</c> of a range starting at <paramref name="offset"/>: (length, flags) runs from the
    /// server, covering at least one byte and at most <paramref name="length"/>.
    /// </summary>
    public List<(long Length, NbdAllocationFlags Flags)> BlockStatus(long offset, long length)
    {
        var runs = new List<(long, NbdAllocationFlags)>();
        lock (_gate)
        {
            var cookie = Send(NbdCommand.BlockStatus, NbdCommandFlags.None, offset, (uint)Math.Min(length, BlockStatusRequestLimit), []);
            ReadChunks(cookie, "block status", offset, [], runs);
        }

        return runs;
    }

    private void Simple(NbdCommand command, NbdCommandFlags flags, long offset, uint length, ReadOnlySpan<byte> payload, string what)
    {
        lock (_gate)
        {
            var cookie = Send(command, flags, offset, length, payload);
            ReadSimpleReply(cookie, what);
        }
    }

    private ulong Send(NbdCommand command, NbdCommandFlags flags, long offset, uint length, ReadOnlySpan<byte> payload)
    {
        var cookie = ++_cookie;
        var header = _header.AsSpan(0, 28);
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdConstants.RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)command);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], cookie);
        BinaryPrimitives.WriteUInt64BigEndian(header[16..], (ulong)offset);
        BinaryPrimitives.WriteUInt32BigEndian(header[24..], length);
        _stream.Write(header);
        if (!payload.IsEmpty)
        {
            _stream.Write(payload);
        }

        return cookie;
    }

    private void ReadSimpleReply(ulong cookie, string what)
    {
        var header = _header.AsSpan(0, 16);
        _stream.ReadExactly(header[..4]);
        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic == NbdConstants.StructuredReplyMagic)
        {
            ReadChunks(cookie, what, 0, [], null, magicRead: true);
            return;
        }

        _stream.ReadExactly(header[4..]);
        if (magic != NbdConstants.SimpleReplyMagic || BinaryPrimitives.ReadUInt64BigEndian(header[8..]) != cookie)
        {
            throw new ImageAccessException("Unexpected reply from the NBD server");
        }

        ThrowOnError((NbdError)BinaryPrimitives.ReadUInt32BigEndian(header[4..]), what);
    }

    private void ReadChunks(ulong cookie, string what, long offset, Span<byte> buffer, List<(long, NbdAllocationFlags)>? runs, bool magicRead = false)
    {
        var error = NbdError.None;
        while (true)
        {
            var header = _header.AsSpan(0, 20);
            _stream.ReadExactly(magicRead ? header[4..] : header);
            magicRead = false;
            if (BinaryPrimitives.ReadUInt32BigEndian(header) != NbdConstants.StructuredReplyMagic || BinaryPrimitives.ReadUInt64BigEndian(header[8..]) != cookie)
            {
                throw new ImageAccessException("Unexpected reply from the NBD server");
            }

            var done = (BinaryPrimitives.ReadUInt16BigEndian(header[4..]) & 1) != 0;
            var type = (NbdReplyType)BinaryPrimitives.ReadUInt16BigEndian(header[6..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header[16..]);
            switch (type)
            {
                case NbdReplyType.None:
                    break;
                case NbdReplyType.OffsetData:
                    ReadData(length, offset, buffer);
                    break;
                case NbdReplyType.OffsetHole:
                    ReadHole(length, offset, buffer);
                    break;
                case NbdReplyType.BlockStatus when runs is not null:
                    ReadStatus(length, runs);
                    break;
                case NbdReplyType.Error or NbdReplyType.ErrorOffset:
                    error = ReadError(length);
                    break;
                default:
                    throw new ImageAccessException($"Unexpected reply chunk type {(ushort)type} from the NBD server");
            }

            if (done)
            {
                ThrowOnError(error, what);
                return;
            }
        }
    }

    private void ReadData(uint length, long offset, Span<byte> buffer)
    {
        Span<byte> position = stackalloc byte[8];
        if (length < 8)
        {
            throw new ImageAccessException("Malformed data chunk from the NBD server");
        }

        _stream.ReadExactly(position);
        var start = (long)BinaryPrimitives.ReadUInt64BigEndian(position) - offset;
        var count = length - 8;
        if (start < 0 || start > buffer.Length || count > buffer.Length - start)
        {
            throw new ImageAccessException("NBD server sent data outside the range asked for");
        }

        _stream.ReadExactly(buffer.Slice((int)start, (int)count));
    }

    private void ReadHole(uint length, long offset, Span<byte> buffer)
    {
        Span<byte> hole = stackalloc byte[12];
        if (length != 12)
        {
            throw new ImageAccessException("Malformed hole chunk from the NBD server");
        }

        _stream.ReadExactly(hole);
        var start = (long)BinaryPrimitives.ReadUInt64BigEndian(hole) - offset;
        var count = BinaryPrimitives.ReadUInt32BigEndian(hole[8..]);
        if (start < 0 || start > buffer.Length || count > buffer.Length - start)
        {
            throw new ImageAccessException("NBD server sent a hole outside the range asked for");
        }

        buffer.Slice((int)start, (int)count).Clear();
    }

    private void ReadStatus(uint length, List<(long, NbdAllocationFlags)> runs)
    {
        if (length < 12 || (length - 4) % 8 != 0 || length > (1 << 24))
        {
            throw new ImageAccessException("Malformed block status chunk from the NBD server");
        }

        var data = new byte[length];
        _stream.ReadExactly(data);
        if (BinaryPrimitives.ReadUInt32BigEndian(data) != _baseAllocationId)
        {
            return;
        }

        for (var i = 4; i < data.Length; i += 8)
        {
            runs.Add((BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(i)), (NbdAllocationFlags)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(i + 4))));
        }
    }

    private NbdError ReadError(uint length)
    {
        if (length < 6 || length > MaxOptionReply)
        {
            throw new ImageAccessException("Malformed error chunk from the NBD server");
        }

        var data = new byte[length];
        _stream.ReadExactly(data);
        var error = (NbdError)BinaryPrimitives.ReadUInt32BigEndian(data);
        return error == NbdError.None ? NbdError.IoError : error;
    }

    private static void ThrowOnError(NbdError error, string what)
    {
        if (error != NbdError.None)
        {
            var text = error switch
            {
                NbdError.NotPermitted => "Operation not permitted",
                NbdError.IoError => "Input/output error",
                NbdError.OutOfMemory => "Cannot allocate memory",
                NbdError.InvalidArgument => "Invalid argument",
                NbdError.NoSpace => "No space left on device",
                NbdError.Overflow => "Value too large for defined data type",
                NbdError.NotSupported => "Operation not supported",
                NbdError.Shutdown => "Cannot send after transport endpoint shutdown",
                _ => $"error {(uint)error}",
            };
            throw new ImageAccessException($"NBD {what} failed: {text}");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            try
            {
                if (_transmitting && _socket.Connected)
                {
                    Send(NbdCommand.Disconnect, NbdCommandFlags.None, 0, 0, []);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The server is gone already.
            }

            _stream.Dispose();
            _socket.Dispose();
        }
    }
}
