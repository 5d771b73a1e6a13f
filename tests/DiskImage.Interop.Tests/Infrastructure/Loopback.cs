using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// What the test servers (sshd, tgtd, nfs-ganesha, qemu-nbd, the scripted ones) share on 127.0.0.1: picking a port,
/// asking whether one accepts connections, and waiting for a freshly started server to come up.
/// </summary>
public static class Loopback
{
    /// <summary>A TCP port on 127.0.0.1 nothing listens on now (the kernel's pick, released at once).</summary>
    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>Whether something accepts a TCP connection on 127.0.0.1:<paramref name="port"/>.</summary>
    public static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Polls <paramref name="ready"/> until it holds; throws, with <paramref name="details"/> (a server's log, say),
    /// once <paramref name="exited"/> says the server died or <paramref name="limit"/> has passed, so a server that
    /// cannot start fails its tests at once instead of hanging them.
    /// </summary>
    public static void WaitFor(Func<bool> ready, Func<bool> exited, TimeSpan limit, string what, Func<string>? details = null)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            var died = exited();
            if (died || clock.Elapsed > limit)
            {
                var text = details?.Invoke() ?? "";
                throw new InvalidOperationException(
                    $"{what} did not start ({(died ? "exited" : "timed out")})" + (text.Length > 0 ? ": " + text : ""));
            }

            Thread.Sleep(50);
        }
    }
}
