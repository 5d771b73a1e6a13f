using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>How a <see cref="ScriptedFtpServer"/> answers.</summary>
public enum FtpBehaviour
{
    /// <summary>Every command as an FTP server answers it, EPSV included.</summary>
    Honest,

    /// <summary>The welcome line never ends.</summary>
    EndlessLine,

    /// <summary>The welcome is a multi-line reply whose last line never comes.</summary>
    EndlessMultiline,

    /// <summary>EPSV is refused; PASV names another host than the server (the port is the right one).</summary>
    ForeignPasvHost,

    /// <summary>A RETR sends half the bytes asked for, then closes the data connection and says 226.</summary>
    ShortData,

    /// <summary>SIZE says the file is 2^62 bytes.</summary>
    HugeSize,

    /// <summary>A RETR is started (150) and then no byte is sent.</summary>
    StallData,

    /// <summary>The welcome is no FTP reply at all.</summary>
    Garbage,

    /// <summary>EPSV is answered 229 without a port in RFC 2428's form.</summary>
    BadEpsv,
}

/// <summary>
/// A small FTP server over a directory for the hostile-server tests: passive mode only, one file per RETR from the
/// REST offset, with misbehaviours to choose from and a hook that may rewrite each reply's bytes. Commands are logged.
/// </summary>
public sealed class ScriptedFtpServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly string _root;
    private readonly CancellationTokenSource _stop = new();

    public ScriptedFtpServer(string root, FtpBehaviour behaviour = FtpBehaviour.Honest)
    {
        _root = root;
        Behaviour = behaviour;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    public FtpBehaviour Behaviour { get; set; }

    /// <summary>Rewrites each reply (CRLF-terminated) before it is sent; null leaves it.</summary>
    public Func<byte[], byte[]>? RewriteReply { get; set; }

    public ConcurrentQueue<string> Commands { get; } = new();

    public string Url(string name) => $"ftp://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{name}";

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        TcpListener? passive = null;
        try
        {
            var stream = client.GetStream();
            switch (Behaviour)
            {
                case FtpBehaviour.EndlessLine:
                    await Endless(stream, "220 ", "welcome ").ConfigureAwait(false);
                    return;
                case FtpBehaviour.EndlessMultiline:
                    await Endless(stream, "220-", "220-more\r\n").ConfigureAwait(false);
                    return;
                case FtpBehaviour.Garbage:
                    await Reply(stream, "HTTP/1.1 400 Bad Request").ConfigureAwait(false);
                    break;
                default:
                    await Reply(stream, "220 scripted server").ConfigureAwait(false);
                    break;
            }

            long offset = 0;
            while (await ReadLine(stream).ConfigureAwait(false) is { } line)
            {
                Commands.Enqueue(line);
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var (verb, argument) = space < 0 ? (line, "") : (line[..space], line[(space + 1)..]);
                var file = Path.Combine(_root, argument);
                switch (verb.ToUpperInvariant())
                {
                    case "USER":
                        await Reply(stream, "331 send password").ConfigureAwait(false);
                        break;
                    case "PASS":
                        await Reply(stream, "230 logged in").ConfigureAwait(false);
                        break;
                    case "TYPE":
                    case "CWD":
                        await Reply(stream, "200 ok").ConfigureAwait(false);
                        break;
                    case "SIZE":
                        await Reply(stream, !File.Exists(file) ? "550 no such file"
                            : Behaviour == FtpBehaviour.HugeSize ? "213 4611686018427387904"
                            : $"213 {new FileInfo(file).Length.ToString(CultureInfo.InvariantCulture)}").ConfigureAwait(false);
                        break;
                    case "EPSV" when Behaviour is FtpBehaviour.ForeignPasvHost:
                        await Reply(stream, "500 EPSV not understood").ConfigureAwait(false);
                        break;
                    case "EPSV":
                        passive?.Stop();
                        passive = Listen();
                        await Reply(stream, Behaviour == FtpBehaviour.BadEpsv ? "229 Entering Extended Passive Mode (|||x|)"
                            : $"229 Entering Extended Passive Mode (|||{((IPEndPoint)passive.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture)}|)").ConfigureAwait(false);
                        break;
                    case "PASV":
                        passive?.Stop();
                        passive = Listen();
                        var port = ((IPEndPoint)passive.LocalEndpoint).Port;
                        var host = Behaviour == FtpBehaviour.ForeignPasvHost ? "10,255,0,1" : "127,0,0,1";
                        await Reply(stream, string.Create(CultureInfo.InvariantCulture, $"227 Entering Passive Mode ({host},{port / 256},{port % 256})")).ConfigureAwait(false);
                        break;
                    case "REST":
                        offset = long.Parse(argument, CultureInfo.InvariantCulture);
                        await Reply(stream, "350 restarting").ConfigureAwait(false);
                        break;
                    case "RETR" when passive is not null:
                        await Retrieve(stream, passive, file, offset).ConfigureAwait(false);
                        passive.Stop();
                        passive = null;
                        offset = 0;
                        break;
                    case "QUIT":
                        await Reply(stream, "221 bye").ConfigureAwait(false);
                        return;
                    default:
                        await Reply(stream, "502 not implemented").ConfigureAwait(false);
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            passive?.Stop();
        }
    }

    private static TcpListener Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private async Task Retrieve(NetworkStream control, TcpListener passive, string file, long offset)
    {
        if (!File.Exists(file))
        {
            await Reply(control, "550 no such file").ConfigureAwait(false);
            return;
        }

        using var data = await passive.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
        await Reply(control, "150 opening data connection").ConfigureAwait(false);
        if (Behaviour == FtpBehaviour.StallData)
        {
            await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
        }

        var bytes = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
        var rest = offset < bytes.Length ? bytes.AsMemory((int)offset) : Memory<byte>.Empty;
        if (Behaviour == FtpBehaviour.ShortData)
        {
            rest = rest[..Math.Min(rest.Length, 4096)];
        }

        try
        {
            await data.GetStream().WriteAsync(rest, _stop.Token).ConfigureAwait(false);
            data.Close();
            await Reply(control, "226 transfer complete").ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client closed the data connection once it had its range.
            await Reply(control, "426 transfer aborted").ConfigureAwait(false);
        }
    }

    private async Task Endless(NetworkStream stream, string start, string repeated)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(start), _stop.Token).ConfigureAwait(false);
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(repeated, 64)));
        while (true)
        {
            await stream.WriteAsync(chunk, _stop.Token).ConfigureAwait(false);
        }
    }

    private async Task Reply(NetworkStream stream, string reply)
    {
        var bytes = Encoding.ASCII.GetBytes(reply + "\r\n");
        if (RewriteReply is { } rewrite)
        {
            bytes = rewrite(bytes);
        }

        await stream.WriteAsync(bytes, _stop.Token).ConfigureAwait(false);
    }

    private async Task<string?> ReadLine(NetworkStream stream)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, _stop.Token).ConfigureAwait(false) == 0 || line.Length > 4096)
            {
                return null;
            }

            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }
}
