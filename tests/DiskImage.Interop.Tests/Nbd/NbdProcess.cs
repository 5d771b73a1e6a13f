using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// An NBD server running as a child process (<c>diskimg nbd</c>, <c>qemu-nbd</c> or <c>nbdkit</c>), killed on
/// dispose. Starting waits, bounded, until the server accepts connections.
/// </summary>
internal sealed class NbdProcess : IDisposable
{
    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private NbdProcess(Process process, string? socket, int port)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        Socket = socket;
        Port = port;
    }

    public string? Socket { get; }

    public int Port { get; }

    /// <summary>The URI of the default (empty-named) export, or of <paramref name="export"/>.</summary>
    public string Uri(string export = "") => Socket is not null ? $"nbd+unix:///{export}?socket={Socket}" : $"nbd://127.0.0.1:{Port}/{export}";

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    /// <summary><c>diskimg nbd</c> with <paramref name="arguments"/> on a Unix socket (socket != null) or a TCP port.</summary>
    public static NbdProcess Diskimg(string? socket, int port, params string[] arguments)
    {
        var info = new ProcessStartInfo(DotnetHost());
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "diskimg.dll"));
        info.ArgumentList.Add("nbd");
        return Start(info, socket, port, arguments);
    }

    /// <summary>Another server, e.g. <c>qemu-nbd</c> or <c>nbdkit -f</c>.</summary>
    public static NbdProcess Tool(string tool, string? socket, int port, params string[] arguments) =>
        Start(new ProcessStartInfo(ExternalTool.Require(tool)), socket, port, arguments);

    private static NbdProcess Start(ProcessStartInfo info, string? socket, int port, string[] arguments)
    {
        info.RedirectStandardError = true;
        info.RedirectStandardOutput = true;
        info.UseShellExecute = false;
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new NbdProcess(Process.Start(info)!, socket, port);
        process.WaitUntilListening();
        return process;
    }

    /// <summary>A raw connection to the server (for hostile clients).</summary>
    public Socket Connect()
    {
        var socket = Socket is not null
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.ReceiveTimeout = 20000;
        socket.SendTimeout = 20000;
        socket.Connect(Socket is not null ? new UnixDomainSocketEndPoint(Socket) : new IPEndPoint(IPAddress.Loopback, Port));
        return socket;
    }

    private void WaitUntilListening()
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < s_startLimit)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"server exited {_process.ExitCode} before listening: {_stderr.Result}");
            }

            try
            {
                // A connection that is accepted and dropped again costs a non-persistent server its life, so
                // only probe for the socket file (Unix) or a listening port (TCP) without a handshake where possible.
                if (Socket is not null ? File.Exists(Socket) : PortListens())
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }

            Thread.Sleep(50);
        }

        Dispose();
        throw new TimeoutException($"server did not listen within {s_startLimit.TotalSeconds} s");
    }

    private bool PortListens()
    {
        var listeners = IPGlobalPropertiesListeners();
        return listeners.Any(e => e.Port == Port);
    }

    private static IPEndPoint[] IPGlobalPropertiesListeners() =>
        System.Net.NetworkInformation.IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners();

    /// <summary>SIGKILL, then wait (bounded) for the process to be gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(10000);
    }

    /// <summary>SIGTERM (a clean shutdown that flushes the image), then a bounded wait; returns the exit code.</summary>
    public int Stop()
    {
        ExternalTool.Run("kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return WaitForExit(TimeSpan.FromSeconds(30));
    }

    /// <summary>Waits (bounded) for the server to exit by itself; returns its exit code.</summary>
    public int WaitForExit(TimeSpan limit)
    {
        if (!_process.WaitForExit(limit))
        {
            Kill();
            throw new TimeoutException("server did not exit in time");
        }

        return _process.ExitCode;
    }

    public string StdErr => _process.HasExited ? _stderr.Result : "";

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
