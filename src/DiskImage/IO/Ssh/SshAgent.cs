using System.Buffers.Binary;
using System.Net.Sockets;

namespace DiskImage.IO.Ssh;

/// <summary>
/// A client of the ssh-agent at <c>SSH_AUTH_SOCK</c> (the agent protocol over its Unix socket): it lists the
/// identities the agent holds and asks it to sign. The private keys stay in the agent; nothing else is read.
/// </summary>
internal sealed class SshAgent : IDisposable
{
    private const byte RequestIdentities = 11;
    private const byte IdentitiesAnswer = 12;
    private const byte SignRequest = 13;
    private const byte SignResponse = 14;

    /// <summary>Agent replies are small (keys and signatures); a longer one is refused rather than allocated.</summary>
    private const int MaxReply = 256 * 1024;

    private readonly Socket _socket;
    private readonly Lock _lock = new();

    private SshAgent(Socket socket) => _socket = socket;

    /// <summary>The agent the environment names, or null when none is named or it cannot be reached (as no identities).</summary>
    public static SshAgent? FromEnvironment()
    {
        var path = Environment.GetEnvironmentVariable("SSH_AUTH_SOCK");
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return new SshAgent(socket);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>The public key blobs the agent holds (in its order); none when the agent's reply is malformed.</summary>
    public IReadOnlyList<byte[]> ListKeys() => ParseIdentities(Call([RequestIdentities]));

    /// <summary>The key blobs of an identities answer (each followed by its comment); as many as are whole, none for another reply.</summary>
    internal static IReadOnlyList<byte[]> ParseIdentities(byte[]? reply)
    {
        if (reply is null || reply.Length < 5 || reply[0] != IdentitiesAnswer)
        {
            return [];
        }

        var reader = new WireReader(reply.AsMemory(1));
        var count = reader.UInt32();
        var keys = new List<byte[]>();
        for (uint i = 0; i < count && reader.Remaining > 0; i++)
        {
            if (reader.Bytes() is not { } blob || reader.Bytes() is null)
            {
                break;
            }

            keys.Add(blob);
        }

        return keys;
    }

    /// <summary>The agent's signature blob over <paramref name="data"/> with the key <paramref name="keyBlob"/>; null when it refuses.</summary>
    public byte[]? Sign(byte[] keyBlob, byte[] data, uint flags)
    {
        var request = new byte[1 + 4 + keyBlob.Length + 4 + data.Length + 4];
        request[0] = SignRequest;
        var at = 1;
        at = WireReader.PutBytes(request, at, keyBlob);
        at = WireReader.PutBytes(request, at, data);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(at), flags);
        var reply = Call(request);
        return reply is { Length: > 5 } && reply[0] == SignResponse ? new WireReader(reply.AsMemory(1)).Bytes() : null;
    }

    /// <summary>One request and its reply (without the length), or null when the agent hangs up or answers out of bounds.</summary>
    private byte[]? Call(byte[] request)
    {
        lock (_lock)
        {
            try
            {
                Span<byte> length = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(length, (uint)request.Length);
                _socket.Send(length);
                _socket.Send(request);
                if (!ReceiveExactly(length))
                {
                    return null;
                }

                var size = BinaryPrimitives.ReadUInt32BigEndian(length);
                if (size is 0 or > MaxReply)
                {
                    return null;
                }

                var reply = new byte[size];
                return ReceiveExactly(reply) ? reply : null;
            }
            catch (SocketException)
            {
                return null;
            }
        }
    }

    private bool ReceiveExactly(Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var n = _socket.Receive(buffer);
            if (n == 0)
            {
                return false;
            }

            buffer = buffer[n..];
        }

        return true;
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();
}
