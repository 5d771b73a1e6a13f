using System.Net;
using System.Net.Sockets;

namespace DiskImage.IO.Nfs;

/// <summary>
/// One TCP connection to an RPC program (portmapper, MOUNT or NFS), making one call at a time: the call goes out as
/// one record, the reply is read whole (bounded by <see cref="MaxReply"/>) and its header checked (<see cref="RpcReply"/>).
/// A server that stops answering is given up on after <see cref="Timeout"/>, so nothing waits for ever.
/// </summary>
internal sealed class RpcConnection : IDisposable
{
    /// <summary>The largest reply taken: a 1 MiB READ and its attributes, with room to spare.</summary>
    public const int MaxReply = (1 << 20) + 4096;

    private const int IpProtocolTcp = 6;
    private const int TcpSynCnt = 7;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly RpcCredentials _credentials;
    private uint _xid;

    private RpcConnection(Socket socket, RpcCredentials credentials)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _credentials = credentials;
        _xid = (uint)Random.Shared.Next();
    }

    /// <summary>How long a reply may take.</summary>
    internal static TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Connects to <paramref name="address"/>:<paramref name="port"/>.</summary>
    /// <exception cref="NfsProtocolException">The connection failed.</exception>
    public static RpcConnection Connect(IPAddress address, int port, RpcCredentials credentials)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (credentials.SynCount is { } synCount && OperatingSystem.IsLinux())
            {
                // libnfs's tcp-syncnt: how many SYNs the kernel sends before it gives up on the server (TCP_SYNCNT).
                socket.SetRawSocketOption(IpProtocolTcp, TcpSynCnt, BitConverter.GetBytes(synCount));
            }

            // A blocking connect, bounded by the kernel's SYN retries as libnfs's is.
            socket.Connect(new IPEndPoint(address, port));
            socket.NoDelay = true;
            socket.ReceiveTimeout = (int)Timeout.TotalMilliseconds;
            socket.SendTimeout = (int)Timeout.TotalMilliseconds;
            return new RpcConnection(socket, credentials);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new NfsProtocolException($"connect() to server failed. {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Calls <paramref name="procedure"/> with the arguments <paramref name="arguments"/> writes; returns the results.</summary>
    /// <exception cref="NfsProtocolException">The connection failed or the reply was not a successful one.</exception>
    public XdrReader Call(uint program, uint version, uint procedure, Action<XdrWriter> arguments)
    {
        var xid = unchecked(++_xid);
        var call = RpcCall.Begin(xid, program, version, procedure, _credentials);
        arguments(call);
        try
        {
            RpcRecordMarking.Write(_stream, call.Written);
            return RpcReply.Open(RpcRecordMarking.Read(_stream, MaxReply), xid);
        }
        catch (IOException e) when (e is not NfsProtocolException)
        {
            throw new NfsProtocolException(e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut } ? "command timed out" : "Socket closed", e);
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }
}
