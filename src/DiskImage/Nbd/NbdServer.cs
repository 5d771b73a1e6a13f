using System.Net.Sockets;

namespace DiskImage.Nbd;

/// <summary>
/// Serves one export to NBD clients on listening sockets (TCP, Unix or inherited). Connections beyond
/// <see cref="NbdServerOptions.MaxConnections"/> are not accepted until a slot frees, as qemu-nbd does.
/// Without <see cref="NbdServerOptions.Persistent"/> the server stops when its last client leaves.
/// A misbehaving client only ever loses its own connection.
/// </summary>
public sealed class NbdServer(NbdExport export, NbdServerOptions options)
{
    private readonly IReadOnlyList<NbdExportBitmap> _bitmaps = NbdExportBitmap.Resolve(export);
    private readonly SemaphoreSlim _slots = new(options.MaxConnections > 0 ? options.MaxConnections : int.MaxValue);
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
            _ = Task.Run(() => ServeAsync(client, stop), CancellationToken.None);
        }
    }

    private async Task ServeAsync(Socket client, CancellationTokenSource stop)
    {
        try
        {
            if (client.AddressFamily is System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                client.NoDelay = true;
            }

            await using var stream = new NetworkStream(client, ownsSocket: true);
            NbdSession? session;
            using (var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token))
            {
                handshakeTimeout.CancelAfter(options.HandshakeTimeout);
                session = await new NbdServerHandshake(export, options, _bitmaps).RunAsync(stream, handshakeTimeout.Token).ConfigureAwait(false);
            }

            if (session is not null)
            {
                await using (session.Stream.ConfigureAwait(false))
                {
                    await new NbdTransmission(export, session, options).RunAsync(stop.Token).ConfigureAwait(false);
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
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }
    }
}
