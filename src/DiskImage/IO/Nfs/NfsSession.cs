using System.Net;
using System.Net.Sockets;

namespace DiskImage.IO.Nfs;

/// <summary>
/// A mounted export and an open file on it, reached as libnfs reaches it: the server's address resolved, MOUNT v3
/// asked for the export's root handle (through the portmapper), NFS v3 connected and asked for its transfer sizes
/// (FSINFO) and the root's attributes, then the file looked up and its access checked, or created. Every failure
/// is an <see cref="ImageAccessException"/> in QEMU's words for the step.
/// </summary>
internal sealed class NfsSession : IDisposable
{
    private const uint AccessRead = 0x01;
    private const uint AccessModify = 0x04;
    private const uint NewFileMode = 0x180;

    private readonly IPAddress _address;
    private readonly RpcCredentials _credentials;
    private readonly NfsTarget _target;

    private NfsSession(IPAddress address, RpcCredentials credentials, NfsTarget target, Nfs3Client client, NfsFileHandle file, int readMax, int writeMax)
    {
        _address = address;
        _credentials = credentials;
        _target = target;
        Client = client;
        File = file;
        ReadMax = readMax;
        WriteMax = writeMax;
    }

    public Nfs3Client Client { get; }

    public NfsFileHandle File { get; }

    public int ReadMax { get; }

    public int WriteMax { get; }

    /// <summary>Mounts the target's export and opens (or creates) its file.</summary>
    public static NfsSession Open(NfsTarget target, bool writable, bool create)
    {
        var credentials = CredentialsFor(target);
        var address = Resolve(target.Host);
        NfsFileHandle? root = null;
        Nfs3Client? client = null;
        int readMax, writeMax;
        try
        {
            root = MountClient.Mount(address, target.Host, target.Export, credentials);
            client = Nfs3Client.Connect(address, target.Host, credentials);
            (readMax, writeMax) = client.FsInfo(root, target.Export);
            client.GetAttributes(root);
        }
        catch (NfsProtocolException e)
        {
            client?.Dispose();
            if (root is not null)
            {
                MountClient.Unmount(address, target.Host, target.Export, credentials);
            }

            throw new ImageAccessException("Failed to mount nfs share: " + (IsConnectionFailure(e) ? "nfs_service failed" : "mount_cb: " + e.Message), e);
        }

        try
        {
            // A staged new output (NfsStagedOutput) is made and opened under its temporary name.
            var path = NfsStagedOutput.FileFor(client, root, target, create);
            var file = create ? CreateFile(client, root, path) : OpenFile(client, root, target.Export, path, writable);
            return new NfsSession(address, credentials, target, client, file, readMax, writeMax);
        }
        catch
        {
            client.Dispose();
            MountClient.Unmount(address, target.Host, target.Export, credentials);
            throw;
        }
    }

    private static NfsFileHandle OpenFile(Nfs3Client client, NfsFileHandle root, string export, string path, bool writable)
    {
        try
        {
            var file = NfsPathWalk.Resolve(client, root, export, path);
            var wanted = writable ? AccessRead | AccessModify : AccessRead;
            var granted = client.Access(file, wanted, path);
            if (granted != wanted)
            {
                throw new NfsProtocolException($"NFS: ACCESS denied. Required access {Bits(wanted)}. Allowed access {Bits(granted)}") { Errno = -13 };
            }

            return file;
        }
        catch (NfsProtocolException e)
        {
            throw new ImageAccessException($"Failed to open file : open call failed with \"{e.Message}\"", e);
        }
    }

    private static NfsFileHandle CreateFile(Nfs3Client client, NfsFileHandle root, string path)
    {
        try
        {
            var name = path.TrimStart('/');
            return client.Create(root, name, NewFileMode, path);
        }
        catch (NfsProtocolException e)
        {
            throw new ImageAccessException($"Failed to create file: creat call failed with \"{e.Message}\"", e);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> with a client and the root handle of <paramref name="target"/>'s export mounted,
    /// as a session has them, but no file opened.
    /// </summary>
    /// <exception cref="NfsProtocolException">The server refused the mount or a call of the action.</exception>
    public static void WithExport(NfsTarget target, Action<Nfs3Client, NfsFileHandle> action)
    {
        var credentials = CredentialsFor(target);
        var address = Resolve(target.Host);
        var root = MountClient.Mount(address, target.Host, target.Export, credentials);
        try
        {
            using var client = Nfs3Client.Connect(address, target.Host, credentials);
            action(client, root);
        }
        finally
        {
            MountClient.Unmount(address, target.Host, target.Export, credentials);
        }
    }

    private static RpcCredentials CredentialsFor(NfsTarget target) =>
        RpcCredentials.For(unchecked((uint)(target.User ?? CurrentUid())), unchecked((uint)(target.Group ?? CurrentGid())))
            with { SynCount = target.TcpSynCount is { } n ? (int)Math.Clamp(n, 1, 127) : null };

    /// <summary>The file's attributes (libnfs's fstat); a failure in QEMU's words for the open.</summary>
    public NfsAttributes Stat()
    {
        try
        {
            return Client.GetAttributes(File);
        }
        catch (NfsProtocolException e)
        {
            throw new ImageAccessException($"Failed to fstat file: fstat call failed with \"{e.Message}\"", e);
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        MountClient.Unmount(_address, _target.Host, _target.Export, _credentials);
    }

    /// <summary>The server's first IPv4 address (libnfs speaks to the portmapper over IPv4 here); an unresolvable name in libnfs's words.</summary>
    private static IPAddress Resolve(string host)
    {
        try
        {
            var addresses = InetSockets.Resolve(host, "111");
            return (addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0]).Address;
        }
        catch (Exception e) when (e is ImageAccessException or ArgumentOutOfRangeException or SocketException)
        {
            throw new ImageAccessException($"Failed to mount nfs share: nfs_mount_async failed. Failed to start connection. Failed to start connection. Invalid address:{host}. Can not resolv into IPv4/v6 structure.", e);
        }
    }

    private static bool IsConnectionFailure(NfsProtocolException e) =>
        e.InnerException is SocketException or IOException || e.Message is "Socket closed" || e.Message.StartsWith("connect()", StringComparison.Ordinal);

    private static string Bits(uint access) => $"{((access & AccessRead) != 0 ? 'r' : '-')}{((access & AccessModify) != 0 ? 'w' : '-')}{((access & 0x20) != 0 ? 'x' : '-')}";

    private static long CurrentUid() => OperatingSystem.IsLinux() ? NativeIds.GetUid() : 0;

    private static long CurrentGid() => OperatingSystem.IsLinux() ? NativeIds.GetGid() : 0;
}
