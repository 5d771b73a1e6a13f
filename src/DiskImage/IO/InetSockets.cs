using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace DiskImage.IO;

/// <summary>
/// A TCP connection to a host and port given as text, made as QEMU's socket layer makes it: the pair is resolved by
/// the C library's <c>getaddrinfo</c> (so the port may be a service name and the addresses come in the resolver's
/// order), each address is tried in turn, and a failure is reported in QEMU's words (the resolver's own text for a
/// name that does not resolve, the last address's errno text for a refused connection).
/// </summary>
internal static partial class InetSockets
{
    private const int AiCanonName = 0x0002;
    private const int AiV4Mapped = 0x0008;
    private const int AiAddrConfig = 0x0020;
    private const int SockStream = 1;
    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/>; failures are <see cref="ImageAccessException"/>s.</summary>
    public static Socket Connect(string host, string port)
    {
        var addresses = Resolve(host, port);
        SocketException? last = null;
        foreach (var endPoint in addresses)
        {
            var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Connect(endPoint);
                socket.NoDelay = true;
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }

        var message = $"Failed to connect to '{host}:{port}': {Describe(last)}";
        throw last is null ? new ImageAccessException(message) : new ImageAccessException(message, last);
    }

    /// <summary>The addresses <c>getaddrinfo</c> gives for a stream connection, with the hints QEMU passes.</summary>
    public static unsafe IReadOnlyList<IPEndPoint> Resolve(string host, string port)
    {
        if (!OperatingSystem.IsLinux())
        {
            return ResolveManaged(host, port);
        }

        var hints = new AddrInfo { Flags = AiCanonName | AiAddrConfig | AiV4Mapped, SocketType = SockStream };
        var rc = GetAddrInfo(host, port, ref hints, out var list);
        if (rc != 0)
        {
            throw new ImageAccessException($"address resolution failed for {host}:{port}: {Marshal.PtrToStringUTF8(GaiStrError(rc))}");
        }

        try
        {
            var found = new List<IPEndPoint>();
            for (var entry = list; entry != 0;)
            {
                var info = *(AddrInfo*)entry;
                if (ToEndPoint(info.Address, info.AddressLength) is { } endPoint)
                {
                    found.Add(endPoint);
                }

                entry = info.Next;
            }

            return found;
        }
        finally
        {
            FreeAddrInfo(list);
        }
    }

    /// <summary>strerror's text for a failed connect (the socket layer's errors .NET names by <see cref="SocketError"/>).</summary>
    private static string Describe(SocketException? e) => e?.SocketErrorCode switch
    {
        null => "No address associated with hostname",
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.NetworkUnreachable => "Network is unreachable",
        SocketError.HostUnreachable => "No route to host",
        SocketError.TimedOut => "Connection timed out",
        SocketError.AddressNotAvailable => "Cannot assign requested address",
        SocketError.AccessDenied => "Permission denied",
        SocketError.ConnectionReset => "Connection reset by peer",
        _ => e.Message,
    };

    /// <summary>A <c>sockaddr_in</c> or <c>sockaddr_in6</c> as an end point (others are skipped).</summary>
    private static unsafe IPEndPoint? ToEndPoint(nint address, uint length)
    {
        if (address == 0 || length < 16)
        {
            return null;
        }

        var bytes = new ReadOnlySpan<byte>((void*)address, (int)Math.Min(length, 28u));
        var family = BitConverter.ToUInt16(bytes);
        var port = (bytes[2] << 8) | bytes[3];
        return family switch
        {
            AfInet => new IPEndPoint(new IPAddress(bytes.Slice(4, 4)), port),
            AfInet6 when bytes.Length >= 28 => new IPEndPoint(new IPAddress(bytes.Slice(8, 16), BitConverter.ToUInt32(bytes[24..])), port),
            _ => null,
        };
    }

    /// <summary>Elsewhere than Linux: .NET's resolver, with the same wording for a name that does not resolve.</summary>
    private static IPEndPoint[] ResolveManaged(string host, string port)
    {
        if (!ushort.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            throw new ImageAccessException($"address resolution failed for {host}:{port}: Servname not supported for ai_socktype");
        }

        try
        {
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : Dns.GetHostAddresses(host);
            return [.. addresses.Select(a => new IPEndPoint(a, number))];
        }
        catch (SocketException)
        {
            throw new ImageAccessException($"address resolution failed for {host}:{port}: Name or service not known");
        }
    }

    /// <summary>glibc's <c>struct addrinfo</c> (LP64 layout: the address before the canonical name).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct AddrInfo
    {
        public int Flags;
        public int Family;
        public int SocketType;
        public int Protocol;
        public uint AddressLength;
        public nint Address;
        public nint CanonicalName;
        public nint Next;
    }

    [LibraryImport("libc", EntryPoint = "getaddrinfo", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetAddrInfo(string node, string service, ref AddrInfo hints, out nint result);

    [LibraryImport("libc", EntryPoint = "freeaddrinfo")]
    private static partial void FreeAddrInfo(nint list);

    [LibraryImport("libc", EntryPoint = "gai_strerror")]
    private static partial nint GaiStrError(int code);
}
