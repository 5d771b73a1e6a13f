using System.Net;
using System.Net.Sockets;

namespace DiskImage.Nbd;

/// <summary>Listening sockets for a server: TCP, a Unix socket, or those systemd passed in (<c>LISTEN_FDS</c>).</summary>
public static class NbdListeners
{
    private const int Backlog = 16;

    /// <summary>
    /// Listens on every address <paramref name="host"/> resolves to (a literal address or a name). Port 0 picks a
    /// free port; the chosen port is then the socket's <see cref="Socket.LocalEndPoint"/>.
    /// </summary>
    public static IReadOnlyList<Socket> Tcp(string host, int port)
    {
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : Dns.GetHostAddresses(host);
        if (addresses.Length == 0)
        {
            throw new ImageAccessException($"address resolution failed for {host}:{port}");
        }

        var sockets = new List<Socket>();
        foreach (var address in addresses.Distinct())
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                if (address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = false;
                }

                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(Backlog);
                sockets.Add(socket);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                sockets.ForEach(s => s.Dispose());
                throw new ImageAccessException($"Failed to bind socket: {e.Message}", e);
            }
        }

        return sockets;
    }

    /// <summary>Listens on a Unix socket at <paramref name="path"/>; an existing file there is never removed.</summary>
    public static IReadOnlyList<Socket> Unix(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(Backlog);
            return [socket];
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ImageAccessException($"Failed to bind socket to {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The sockets systemd passed (<c>LISTEN_PID</c> is this process, <c>LISTEN_FDS</c> counts them from
    /// descriptor 3), or null when none were passed. As in systemd's own helper, the two variables are then
    /// removed so that no child process takes the sockets for its own.
    /// </summary>
    public static IReadOnlyList<Socket>? FromSystemd()
    {
        var pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        var count = Environment.GetEnvironmentVariable("LISTEN_FDS");
        if (pid is null || count is null || !int.TryParse(pid, out var listenPid) || listenPid != Environment.ProcessId
            || !int.TryParse(count, out var fds) || fds <= 0)
        {
            return null;
        }

        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        return [.. Enumerable.Range(FirstSystemdDescriptor, fds).Select(fd => new Socket(new SafeSocketHandle(fd, ownsHandle: true)))];
    }

    private const int FirstSystemdDescriptor = 3;
}
