using System.Net;

namespace DiskImage.IO.Nfs;

/// <summary>
/// The MOUNT v3 protocol (RFC 1813 appendix I): MNT gives the root file handle of an exported directory, UMNT tells
/// the server the client is done with it. Reached through the portmapper, one connection per call as libnfs does.
/// </summary>
internal static class MountClient
{
    private const uint Program = 100005;
    private const uint Version = 3;
    private const uint Mnt = 1;
    private const uint Umnt = 3;
    private const int MaxAuthFlavors = 64;

    /// <summary>The root file handle of <paramref name="export"/>.</summary>
    /// <exception cref="NfsProtocolException">The server refused the mount (libnfs's line) or answered garbage.</exception>
    public static NfsFileHandle Mount(IPAddress address, string host, string export, RpcCredentials credentials)
    {
        var port = Portmapper.GetTcpPort(address, host, Program, Version, credentials);
        using var connection = RpcConnection.Connect(address, port, credentials);
        return ReadMountReply(connection.Call(Program, Version, Mnt, w => w.String(export)));
    }

    /// <summary>MNT's result: the root handle, or libnfs's line for the refusal.</summary>
    internal static NfsFileHandle ReadMountReply(XdrReader reply)
    {
        var status = reply.UInt32();
        if (status != 0)
        {
            var (name, errno) = NfsStatus.Mount(status);
            throw new NfsProtocolException($"RPC error: Mount failed with error {name}({status}) {ErrnoText.Strerror(errno)}({errno})") { Errno = -errno };
        }

        var handle = NfsFileHandle.Read(reply);
        var flavors = reply.UInt32();
        if (flavors > MaxAuthFlavors)
        {
            throw XdrReader.Garbage($"{flavors} auth flavors");
        }

        reply.Skip((int)flavors * 4);
        return handle;
    }

    /// <summary>Tells the server the export is no longer mounted; a failure changes nothing for the client.</summary>
    public static void Unmount(IPAddress address, string host, string export, RpcCredentials credentials)
    {
        try
        {
            var port = Portmapper.GetTcpPort(address, host, Program, Version, credentials);
            using var connection = RpcConnection.Connect(address, port, credentials);
            connection.Call(Program, Version, Umnt, w => w.String(export));
        }
        catch (NfsProtocolException)
        {
            // The data is already on the server (flushed before); a lost UMNT only leaves a line in its mount table.
        }
    }
}
