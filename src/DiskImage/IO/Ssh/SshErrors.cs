using System.Net.Sockets;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace DiskImage.IO.Ssh;

/// <summary>The SSH library's failures as QEMU's ssh driver words them (libssh's and the SFTP server's text in QEMU's frame).</summary>
internal static class SshErrors
{
    private const int EIO = 5;

    /// <summary>The SFTP status codes (RFC draft, section 7) QEMU prints as "sftp error code".</summary>
    private const int NoSuchFile = 2;
    private const int PermissionDenied = 3;
    private const int Failure = 4;

    /// <summary>Connects and authenticates; <paramref name="hostKeyRefusal"/> gives the host key check's line once the key was seen.</summary>
    public static void Connect(SftpClient client, Func<string?> hostKeyRefusal)
    {
        try
        {
            client.Connect();
        }
        catch (Exception e) when (hostKeyRefusal() is { } refusal)
        {
            throw new ImageAccessException(refusal, e);
        }
        catch (SshAuthenticationException e)
        {
            throw new ImageAccessException("failed to authenticate using publickey authentication and the identities held by your ssh-agent", e);
        }
        catch (Exception e) when (e is SshException or SocketException or IOException or TimeoutException)
        {
            throw new ImageAccessException($"failed to establish SSH session: {e.Message}", e);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> (and reads its size, as QEMU's fstat does); refusals name the file as QEMU does, by
    /// <paramref name="shownPath"/> when it is given (the target a temporary file stands for).
    /// </summary>
    public static SftpFileStream OpenFile(SftpClient client, string path, FileMode mode, bool writable, string? shownPath = null)
    {
        SftpFileStream file;
        try
        {
            file = client.Open(path, mode, writable ? FileAccess.ReadWrite : FileAccess.Read);
        }
        catch (Exception e) when (e is SshException)
        {
            shownPath ??= path;
            throw new ImageAccessException($"failed to open remote file '{shownPath}': {Describe(e, path).Replace(path, shownPath, StringComparison.Ordinal)}", e);
        }

        try
        {
            _ = file.Length;
            return file;
        }
        catch (Exception e) when (e is SshException or IOException)
        {
            file.Dispose();
            throw new ImageAccessException($"failed to read file attributes: {Describe(e, path).Replace(path, shownPath ?? path, StringComparison.Ordinal)}", e);
        }
    }

    /// <summary>A failed read, write or flush: the block layer sees EIO, as from QEMU's driver.</summary>
    public static IOException Io(Exception e) => new("Input/output error", e) { HResult = EIO };

    /// <summary>Whether <paramref name="e"/> is the SSH library failing an operation (rather than a bug).</summary>
    public static bool IsIoFailure(Exception e) => e is SshException or IOException or SocketException or ObjectDisposedException or TimeoutException;

    /// <summary>The server's status text with its SFTP code, in libssh's frame (without the path the SSH library adds).</summary>
    private static string Describe(Exception e, string path)
    {
        var text = e.Message;
        var suffix = $". Path: '{path}'.";
        if (text.EndsWith(suffix, StringComparison.Ordinal))
        {
            text = text[..^suffix.Length];
        }

        var code = e switch
        {
            SftpPathNotFoundException => NoSuchFile,
            SftpPermissionDeniedException => PermissionDenied,
            _ => Failure,
        };
        return $"SFTP server: {text} (libssh error code: 1, sftp error code: {code})";
    }
}
