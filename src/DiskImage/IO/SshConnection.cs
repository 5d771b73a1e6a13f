using DiskImage.Options;

namespace DiskImage.IO;

/// <summary>
/// Opening an image over QEMU's <c>ssh</c> protocol. The options and the server address are checked and the TCP
/// connection is made as QEMU's driver makes it, so an unreachable or unresolvable server fails with QEMU's line;
/// reading over SSH itself (the SSH and SFTP sessions) is not part of this library, so a server that answers is
/// refused with a line that says so.
/// </summary>
internal static class SshConnection
{
    /// <summary>Connects to <paramref name="target"/>'s server; never returns storage.</summary>
    /// <exception cref="ImageAccessException">The server's name does not resolve or no address takes the connection.</exception>
    /// <exception cref="UnsupportedFeatureException">The server answered.</exception>
    public static IStorage Open(SshTarget target)
    {
        using var socket = InetSockets.Connect(target.Host, target.Port);
        throw new UnsupportedFeatureException($"Connected to '{target.Host}:{target.Port}', but images over SSH are not supported; copy the file locally or serve it over NBD");
    }

    /// <summary>Opens an <c>ssh://</c> file name.</summary>
    public static IStorage Open(string uri) => Open(SshNode.FromUri(uri));
}
