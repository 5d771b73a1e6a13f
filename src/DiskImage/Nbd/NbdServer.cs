using System.Net.Sockets;

namespace DiskImage.Nbd;

/// <summary>
/// Serves one export to NBD clients on listening sockets (TCP, Unix or inherited). Connections beyond
/// <see cref="NbdServerOptions.MaxConnections"/> are not accepted until a slot frees, as qemu-nbd does; without
/// a limit (0) at most <see cref="ConnectionLimit"/> are served at once, since each has a thread of its own.
/// Without <see cref="NbdServerOptions.Persistent"/> the server stops when its last client leaves.
/// A misbehaving client only ever loses its own connection.
/// </summary>
public sealed class NbdServer(NbdExport export, NbdServerOptions options)
{
    private readonly IReadOnlyList<NbdExportBitmap> _bitmaps = NbdExportBitmap.Resolve(export);

    // Read once, as qemu-nbd loads its DH parameters with the credentials object.
    private readonly byte[]? _pskDhParameters = options.TlsPsk?.PskServerDhParameters();
    /// <summary>
    /// Connections served at once at most, whatever <see cref="NbdServerOptions.MaxConnections"/> says: each costs
    /// a thread (and up to <see cref="NbdRequestWorkers.MaxThreads"/> more while it has slow requests), so a flood
    /// of clients must not exhaust the process. Beyond it clients wait in the listen backlog, as beyond <c>-e</c>.
    /// </summary>
    public const int ConnectionLimit = 256;

    private readonly SemaphoreSlim _slots = new(options.MaxConnections > 0 ? Math.Min(options.MaxConnections, ConnectionLimit) : ConnectionLimit);
    private int _active;
    private int _served;

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionsServed => Volatile.Read(ref _served);

    /// <summary>Runs until cancelled, or (not persistent) until the last client has gone.</summary>
    public async Task RunAsync(IReadOnlyList<Socket> listeners, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var loops = listeners.Select(l => AcceptLoopAsync(l, stop)).ToArray();
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped on purpose.
        }
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationTokenSource stop)
    {
        var token = stop.Token;
        while (!token.IsCancellationRequested)
        {
            await _slots.WaitAsync(token).ConfigureAwait(false);
            Socket client;
            try
            {
                client = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch
            {
                _slots.Release();
                throw;
            }

            Interlocked.Increment(ref _active);
            Interlocked.Increment(ref _served);

            // Each connection has its own thread and blocking socket calls (see NbdTransmission.Run); the
            // socket must never see an asynchronous call, which would turn its blocking calls into hops
            // through the runtime's event thread.
            new Thread(() => Serve(client, stop)) { IsBackground = true, Name = "nbd client" }.Start();
        }
    }

    private void Serve(Socket client, CancellationTokenSource stop)
    {
        try
        {
            if (client.AddressFamily is System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                client.NoDelay = true;
            }
            else if (client.AddressFamily == System.Net.Sockets.AddressFamily.Unix)
            {
                // A Unix socket's default send buffer (~208 KiB) is smaller than one 256 KiB read reply, so the
                // connection's thread would sleep in the middle of every large reply until the client reads.
                client.SendBufferSize = 1 << 20;
            }

            // Disposing the socket ends a blocking call on it: that is how a stalled handshake and a stopping
            // server reach the connection's thread.
            using var onStop = stop.Token.Register(client.Dispose);
            using var stream = new NetworkStream(client, ownsSocket: true);
            NbdSession? session;
            using (var handshakeTimeout = new CancellationTokenSource(options.HandshakeTimeout))
            using (handshakeTimeout.Token.Register(client.Dispose))
            {
                session = new NbdServerHandshake(export, options, _bitmaps, _pskDhParameters).Run(stream);
            }

            if (session is not null)
            {
                using (session.Stream)
                {
                    new NbdTransmission(export, session).Run();
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException
            or System.Security.Authentication.AuthenticationException or EndOfStreamException)
        {
            // The client went away or broke the protocol; only its connection ends.
        }
        finally
        {
            client.Dispose();
            _slots.Release();
            if (Interlocked.Decrement(ref _active) == 0 && !options.Persistent)
            {
                stop.Cancel();
            }
        }
    }
}
