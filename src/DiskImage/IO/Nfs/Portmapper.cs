using System.Net;

namespace DiskImage.IO.Nfs;

/// <summary>The portmapper (RFC 1833, version 2 on TCP port 111): where a program's version listens on TCP.</summary>
internal static class Portmapper
{
    private const uint Program = 100000;
    private const uint Version = 2;
    private const uint GetPort = 3;
    private const uint Tcp = 6;
    private const int Port = 111;

    /// <summary>The TCP port of <paramref name="program"/> version <paramref name="version"/> on <paramref name="address"/>.</summary>
    /// <exception cref="NfsProtocolException">The portmapper cannot be reached or the program is not registered.</exception>
    public static int GetTcpPort(IPAddress address, string host, uint program, uint version, RpcCredentials credentials)
    {
        using var connection = RpcConnection.Connect(address, Port, credentials);
        var reply = connection.Call(Program, Version, GetPort, w => w.UInt32(program).UInt32(version).UInt32(Tcp).UInt32(0));
        var port = reply.UInt32();
        return port switch
        {
            0 => throw new NfsProtocolException($"RPC error. Program is not available on {host}"),
            > ushort.MaxValue => throw XdrReader.Garbage($"port {port}"),
            _ => (int)port,
        };
    }
}
