using System.Buffers.Binary;
using System.Net.Sockets;
using DiskImage.Nbd;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// A minimal NBD client on a raw Unix socket, written from the protocol document for tests that must control
/// exactly what is sent and see replies in the order they arrive: fixed newstyle, structured replies, OPT_GO.
/// </summary>
internal sealed class NbdRawClient : IDisposable
{
    private readonly Socket _socket;
    private readonly Lock _sendLock = new();

    private NbdRawClient(Socket socket) => _socket = socket;

    public static NbdRawClient Connect(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        socket.ReceiveTimeout = 30_000;
        var client = new NbdRawClient(socket);
        client.Handshake();
        return client;
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>A reply: its cookie, error, and for a read the bytes it carried (holes as zeros).</summary>
    public sealed record Reply(ulong Cookie, uint Error, byte[]? Data);

    private void Handshake()
    {
        var greeting = ReceiveExactly(18);
        Assert.Equal(NbdConstants.NbdMagic, BinaryPrimitives.ReadUInt64BigEndian(greeting));
        Assert.Equal(NbdConstants.OptionMagic, BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)));
        var flags = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(flags, NbdConstants.FlagFixedNewstyle | NbdConstants.FlagNoZeroes);
        _socket.Send(flags);
        SendOption(8, []);
        Assert.Equal(1u, ReadOptionReply());
        SendOption(7, [0, 0, 0, 0, 0, 0]);
        while (ReadOptionReply() != 1)
        {
        }
    }

    private void SendOption(uint option, byte[] data)
    {
        var header = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(header, NbdConstants.OptionMagic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), (uint)data.Length);
        data.CopyTo(header, 16);
        _socket.Send(header);
    }

    private uint ReadOptionReply()
    {
        var header = ReceiveExactly(20);
        var type = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
        ReceiveExactly((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)));
        Assert.True(type < 0x80000000, $"option refused: {type:x}");
        return type;
    }

    /// <summary>Sends one request (with its payload for a write); safe to call from one thread while another receives.</summary>
    public void Send(NbdCommand command, NbdCommandFlags flags, ulong cookie, ulong offset, uint length, ReadOnlySpan<byte> payload = default)
    {
        var request = new byte[28 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(request, NbdConstants.RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), (ushort)command);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(24), length);
        payload.CopyTo(request.AsSpan(28));
        lock (_sendLock)
        {
            _socket.Send(request);
        }
    }

    /// <summary>
    /// The next complete reply. <paramref name="readLength"/> gives the length of a read by cookie (null for other
    /// commands); a read's chunks must together cover exactly its range, each once.
    /// </summary>
    public Reply? Receive(Func<ulong, (ulong Offset, int Length)?> readLength)
    {
        byte[]? data = null;
        bool[]? covered = null;
        ulong? cookie = null;
        uint error = 0;
        while (true)
        {
            var magicBytes = TryReceiveExactly(4);
            if (magicBytes is null)
            {
                Assert.Null(cookie);
                return null;
            }

            var magic = BinaryPrimitives.ReadUInt32BigEndian(magicBytes);
            if (magic == NbdConstants.SimpleReplyMagic)
            {
                Assert.Null(cookie);
                var rest = ReceiveExactly(12);
                var simpleCookie = BinaryPrimitives.ReadUInt64BigEndian(rest.AsSpan(4));
                return new Reply(simpleCookie, BinaryPrimitives.ReadUInt32BigEndian(rest), null);
            }

            Assert.Equal(NbdConstants.StructuredReplyMagic, magic);
            var header = ReceiveExactly(16);
            var done = (BinaryPrimitives.ReadUInt16BigEndian(header) & 1) != 0;
            var type = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
            var chunkCookie = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(4));
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            Assert.True(cookie is null || cookie == chunkCookie, "chunks of two replies interleaved");
            cookie = chunkCookie;
            var body = ReceiveExactly(length);
            var range = readLength(chunkCookie);
            if (range is { } r && data is null)
            {
                data = new byte[r.Length];
                covered = new bool[r.Length];
            }

            switch (type)
            {
                case 1 or 2:
                    Assert.NotNull(data);
                    var at = (long)BinaryPrimitives.ReadUInt64BigEndian(body) - (long)range!.Value.Offset;
                    var count = type == 1 ? length - 8 : (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(8));
                    Assert.True(at >= 0 && at + count <= data.Length, "chunk outside its read");
                    for (var i = 0; i < count; i++)
                    {
                        Assert.False(covered![at + i], "byte sent twice");
                        covered[at + i] = true;
                    }

                    if (type == 1)
                    {
                        body.AsSpan(8).CopyTo(data.AsSpan((int)at));
                    }

                    break;
                case 0:
                    break;
                default:
                    Assert.True(type >= 0x8000, $"unexpected chunk type {type}");
                    error = BinaryPrimitives.ReadUInt32BigEndian(body);
                    break;
            }

            if (done)
            {
                if (error == 0 && covered is not null)
                {
                    Assert.DoesNotContain(false, covered);
                }

                return new Reply(chunkCookie, error, error == 0 ? data : null);
            }
        }
    }

    private byte[] ReceiveExactly(int length) =>
        TryReceiveExactly(length) ?? throw new EndOfStreamException("server closed the connection");

    private byte[]? TryReceiveExactly(int length)
    {
        var buffer = new byte[length];
        var done = 0;
        while (done < length)
        {
            var n = _socket.Receive(buffer, done, length - done, SocketFlags.None);
            if (n == 0)
            {
                return done == 0 ? null : throw new EndOfStreamException("server closed the connection mid-reply");
            }

            done += n;
        }

        return buffer;
    }
}
