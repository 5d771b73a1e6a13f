using System.Globalization;
using System.Net;
using DiskImage.Options;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace DiskImage.IO.Ssh;

/// <summary>
/// A file on an SSH server, read and written over SFTP: QEMU's <c>ssh</c> protocol driver. The connection is made
/// as QEMU makes it: TCP to the server, the host key checked (<see cref="HostKeyCheck"/>), authentication with no
/// credentials and then with the identities held by the ssh-agent at <c>SSH_AUTH_SOCK</c> (<see cref="SshAgent"/>),
/// then the file opened and its size taken from fstat. Writes past the end grow the file; it never shrinks.
/// </summary>
internal sealed class SshStorage : IStorage
{
    private const int SectorSize = 512;

    private readonly SftpClient _client;
    private readonly SshAgent? _agent;
    private readonly SftpFileStream _file;
    private readonly Lock _lock = new();
    private long _length;

    private SshStorage(SftpClient client, SshAgent? agent, SftpFileStream file, string name, bool writable)
    {
        _client = client;
        _agent = agent;
        _file = file;
        Path = name;
        CanWrite = writable;
        _length = file.Length;
    }

    /// <summary>Opens the file an <c>ssh://</c> name names.</summary>
    public static IStorage Open(string uri, bool writable) => Open(SshNode.FromUri(uri), writable);

    /// <summary>Opens <paramref name="target"/>'s file for reading, or for reading and writing.</summary>
    /// <exception cref="ImageAccessException">The server, its key, the authentication or the file failed, in QEMU's words.</exception>
    public static IStorage Open(SshTarget target, bool writable) => Connect(target, FileMode.Open, writable);

    /// <summary>Creates the file (or empties it) with QEMU's <c>O_CREAT | O_TRUNC</c>, open for writing.</summary>
    public static IStorage Create(SshTarget target) => Connect(target, FileMode.Create, writable: true);

    private static SshStorage Connect(SshTarget target, FileMode mode, bool writable)
    {
        var client = ConnectClient(target, out var agent);
        try
        {
            // A new convert or dd target is written under its temporary name (SshStagedOutput); errors name the target.
            var path = SshStagedOutput.PathFor(client, target, mode);
            var file = SshErrors.OpenFile(client, path, mode, writable, target.Path);
            return new SshStorage(client, agent, file, target.NodeName, writable);
        }
        catch
        {
            client.Dispose();
            agent?.Dispose();
            throw;
        }
    }

    /// <summary>Connects and authenticates as QEMU does, with no file opened; the caller disposes both.</summary>
    internal static SftpClient ConnectClient(SshTarget target, out SshAgent? agent)
    {
        // The TCP connection first, alone: an unreachable server fails with the socket layer's line, as in QEMU.
        string address;
        using (var probe = InetSockets.Connect(target.Host, target.Port))
        {
            address = ((IPEndPoint)probe.RemoteEndPoint!).Address.ToString();
        }

        var port = int.Parse(target.Port.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var user = target.User ?? Environment.UserName;
        agent = SshAgent.FromEnvironment();
        SftpClient? client = null;
        try
        {
            var held = agent;
            var keys = held?.ListKeys().Select(k => (IPrivateKeySource)new AgentKey(held, k)).ToArray() ?? [];
            var methods = new List<AuthenticationMethod> { new NoneAuthenticationMethod(user) };
            if (keys.Length > 0)
            {
                methods.Add(new PrivateKeyAuthenticationMethod(user, keys));
            }

            client = new SftpClient(new ConnectionInfo(address, port, user, [.. methods]));
            string? refusal = null;
            client.HostKeyReceived += (_, e) =>
            {
                refusal = HostKeyCheck.Refusal(target, port, e.HostKey, KnownHosts.DefaultFiles());
                e.CanTrust = refusal is null;
            };
            SshErrors.Connect(client, () => refusal);
            return client;
        }
        catch
        {
            client?.Dispose();
            agent?.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public string Path { get; }

    /// <inheritdoc/>
    public bool CanWrite { get; }

    /// <inheritdoc/>
    public long Length
    {
        get
        {
            lock (_lock)
            {
                return _length;
            }
        }
    }

    /// <summary>The server does not say how much space the file takes (qemu-img's "unavailable").</summary>
    public long? AllocatedSize => null;

    /// <inheritdoc/>
    public bool IgnoreFlushes { get; set; }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        var available = ReadAvailable(offset, buffer);
        buffer[available..].Clear();
    }

    /// <inheritdoc/>
    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        lock (_lock)
        {
            var count = (int)Math.Clamp(_length - offset, 0, buffer.Length);
            var done = 0;
            try
            {
                _file.Position = offset;
                while (done < count)
                {
                    var n = _file.Read(buffer[done..count]);
                    if (n == 0)
                    {
                        break;
                    }

                    done += n;
                }
            }
            catch (Exception e) when (SshErrors.IsIoFailure(e))
            {
                throw SshErrors.Io(e);
            }

            return done;
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            var end = offset + data.Length;
            Put(offset, data);

            // QEMU's driver takes whole 512-byte sectors: a write ending in a sector past the end fills that sector
            // (zeroes past the old end), so the file grows as it does under QEMU.
            var sectorEnd = (end + SectorSize - 1) & ~(long)(SectorSize - 1);
            if (sectorEnd > _length)
            {
                Put(_length, new byte[sectorEnd - _length]);
            }
        }
    }

    /// <summary>Writes exactly <paramref name="data"/> at <paramref name="offset"/> (the caller holds the lock).</summary>
    private void Put(long offset, ReadOnlySpan<byte> data)
    {
        if (!CanWrite)
        {
            throw new ImageAccessException("Permission denied");
        }

        try
        {
            _file.Position = offset;
            _file.Write(data);
        }
        catch (Exception e) when (SshErrors.IsIoFailure(e))
        {
            throw SshErrors.Io(e);
        }

        _length = Math.Max(_length, offset + data.Length);
    }

    /// <summary>Grows the file by writing its last byte (SFTP has no truncate on a handle here); shrinking is refused as QEMU refuses it.</summary>
    public void SetLength(long length)
    {
        lock (_lock)
        {
            if (length < _length)
            {
                // QEMU's ENOTSUP: callers that may go on without the cut (commit emptying an image) tell it by type.
                throw new UnsupportedFeatureException("ssh driver does not support shrinking files");
            }

            if (length > _length)
            {
                Put(length - 1, [0]);
            }
        }
    }

    /// <summary>
    /// Sends every buffered write. The server is not asked to sync the file to its disk: the SFTP library has no
    /// <c>fsync@openssh.com</c> request (QEMU sends one where the server offers it).
    /// </summary>
    public void Flush()
    {
        lock (_lock)
        {
            try
            {
                _file.Flush();
            }
            catch (Exception e) when (SshErrors.IsIoFailure(e))
            {
                throw SshErrors.Io(e);
            }
        }
    }

    /// <inheritdoc/>
    public bool TryAllocate(long offset, long length) => false;

    /// <summary>SFTP has no way to punch or zero a range: zero bytes are written, within the file's length.</summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        var end = Math.Min(offset + length, Length);
        if (offset < end)
        {
            WriteZeroBytes(offset, end - offset);
        }
    }

    /// <summary>
    /// Does nothing, as QEMU's ssh driver, which has no discard: SFTP cannot release space, and QEMU's block layer takes
    /// a driver without discard as having discarded nothing, so the range keeps its bytes (qemu-io's <c>discard</c> on
    /// a raw image over SSH reads the old data back, here as there).
    /// </summary>
    public void Discard(long offset, long length)
    {
    }

    /// <inheritdoc/>
    public void WriteZeroBytes(long offset, long length) => ZeroBytesWriter.Write(this, offset, length);

    /// <summary>SFTP does not tell holes from data: the whole range is data, as QEMU's driver (no block status) reports it.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        var result = new List<Extent>();
        HostFile.Add(result, new Extent(offset, length, ExtentKind.Data));
        return result;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            try
            {
                _file.Dispose();
            }
            catch (Exception e) when (e is SshException or IOException or ObjectDisposedException)
            {
                // The writes were flushed by the last Flush; a connection lost at close has nothing left to lose.
            }

            _client.Dispose();
            _agent?.Dispose();
        }
    }
}
