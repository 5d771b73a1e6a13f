using System.Net.Sockets;
using DiskImage.IO;

namespace DiskImage.Nbd.Client;

/// <summary>
/// An NBD export as the storage under an image format (QEMU's nbd protocol driver). Allocation status
/// comes from <c>base:allocation</c>, so copies skip the export's holes without reading them.
/// </summary>
public sealed class NbdStorage : IStorage
{
    private readonly NbdClient _client;

    private NbdStorage(NbdClient client, string name, bool writable)
    {
        _client = client;
        Path = name;
        CanWrite = writable;
    }

    private static readonly Dictionary<string, NbdTlsCredentials> s_credentials = [];

    /// <summary>
    /// Makes <c>tls-creds-x509</c> objects known by id, for URIs that name one (<c>tls-creds=ID</c>), as
    /// qemu-img's <c>--object</c> does. Process-wide, like QEMU's object tree.
    /// </summary>
    public static void RegisterCredentials(NbdTlsCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        lock (s_credentials)
        {
            s_credentials[credentials.Id] = credentials;
        }
    }

    private static NbdTlsCredentials? TlsFor(NbdUri uri)
    {
        if (uri.TlsCreds is not { } id)
        {
            return null;
        }

        NbdTlsCredentials? credentials;
        lock (s_credentials)
        {
            s_credentials.TryGetValue(id, out credentials);
        }

        return (credentials ?? throw new InvalidOptionException($"No TLS credentials with id '{id}'"));
    }

    /// <inheritdoc/>
    public string Path { get; }

    /// <inheritdoc/>
    public bool CanWrite { get; }

    /// <inheritdoc/>
    public long Length => _client.Size;

    /// <summary>An export does not say how much space it uses.</summary>
    public long? AllocatedSize => null;

    /// <inheritdoc/>
    public bool IgnoreFlushes { get; set; }

    /// <summary>Connects to the export <paramref name="name"/> names; refuses writing to a read-only export.</summary>
    public static NbdStorage Open(string name, bool writable)
    {
        var uri = NbdUri.Parse(name);
        var client = NbdClient.Connect(uri, TlsFor(uri));
        if (writable && (client.Flags & NbdTransmissionFlags.ReadOnly) != 0)
        {
            client.Dispose();
            // QEMU's words: its nbd driver fails the open with EACCES and leaves the wording to the generic open.
            throw new ImageAccessException("Could not open image: Permission denied");
        }

        return new NbdStorage(client, uri.ToString(), writable);
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        var available = ReadAvailable(offset, buffer);
        buffer[available..].Clear();
    }

    /// <inheritdoc/>
    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = (int)Math.Clamp(Length - offset, 0, buffer.Length);
        try
        {
            _client.Read(offset, buffer[..count]);
        }
        catch (Exception e) when (IsConnectionLoss(e))
        {
            throw Lost(e);
        }

        return count;
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || data.Length > Length - offset)
        {
            // An export cannot grow (qemu's nbd driver fails such writes the same way).
            throw new ImageAccessException("Invalid argument");
        }

        try
        {
            _client.Write(offset, data, fua: false);
        }
        catch (Exception e) when (IsConnectionLoss(e))
        {
            throw Lost(e);
        }
    }

    /// <inheritdoc/>
    public void SetLength(long length)
    {
        if (length != Length)
        {
            // QEMU's words: an export's size is the server's.
            throw new UnsupportedFeatureException(length > Length ? "Cannot grow NBD nodes" : "Cannot resize NBD nodes");
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (!IgnoreFlushes && (_client.Flags & NbdTransmissionFlags.SendFlush) != 0)
        {
            Io(_client.Flush);
        }
    }

    /// <inheritdoc/>
    public bool TryAllocate(long offset, long length) => false;

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        var end = Math.Min(offset + length, Length);
        if (offset >= end)
        {
            return;
        }

        if ((_client.Flags & NbdTransmissionFlags.SendWriteZeroes) == 0)
        {
            WriteZeroBytes(offset, end - offset);
            return;
        }

        Io(() => _client.WriteZeroes(offset, end - offset, noHole: !mayUnmap));
    }

    /// <summary>A discarded range must read as zeroes afterwards, which <c>TRIM</c> does not promise; zeroes that may unmap do.</summary>
    public void Discard(long offset, long length) => WriteZeroes(offset, length, mayUnmap: true);

    /// <inheritdoc/>
    public void WriteZeroBytes(long offset, long length) => ZeroBytesWriter.Write(this, offset, length, _client.MaxPayload);

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        var result = new List<Extent>();
        var end = offset + length;
        var position = offset;
        if (!_client.HasBlockStatus)
        {
            HostFile.Add(result, new Extent(position, Math.Min(end, Length) - position, ExtentKind.Data));
            position = Math.Min(end, Length);
        }

        Io(() =>
        {
            while (position < Math.Min(end, Length))
            {
                var runs = _client.BlockStatus(position, Math.Min(end, Length) - position);
                if (runs.Count == 0 || runs[0].Length == 0)
                {
                    throw new ImageAccessException($"NBD server gave no block status at offset {position}");
                }

                foreach (var (runLength, flags) in runs)
                {
                    var n = Math.Min(runLength, Math.Min(end, Length) - position);
                    if (n <= 0)
                    {
                        break;
                    }

                    var kind = (flags & NbdAllocationFlags.Zero) != 0 ? ExtentKind.Zero : ExtentKind.Data;
                    HostFile.Add(result, new Extent(position, n, kind));
                    position += n;
                }
            }
        });
        HostFile.Add(result, new Extent(position, end - position, ExtentKind.Zero));
        return result;
    }

    /// <summary>
    /// Block status of the run at <paramref name="offset"/> as QEMU's nbd driver reports it to <c>qemu-img map</c>:
    /// data unless the hole flag is set, zero when the zero flag is, whichever meta context gave the flags (so an
    /// <c>x-dirty-bitmap</c> context's hole alone is neither, and its zero flag alone is data that reads as zero).
    /// </summary>
    internal (long Length, bool Data, bool Zero) StatusAt(long offset, long length)
    {
        length = Math.Min(length, Length - offset);
        if (!_client.HasBlockStatus)
        {
            return (length, true, false);
        }

        var (runLength, flags) = (0L, NbdAllocationFlags.Data);
        Io(() =>
        {
            var runs = _client.BlockStatus(offset, length);
            if (runs.Count == 0 || runs[0].Length == 0)
            {
                throw new ImageAccessException($"NBD server gave no block status at offset {offset}");
            }

            (runLength, flags) = runs[0];
        });
        return (Math.Min(runLength, length), (flags & NbdAllocationFlags.Hole) == 0, (flags & NbdAllocationFlags.Zero) != 0);
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();

    private void Io(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (IsConnectionLoss(e))
        {
            throw Lost(e);
        }
    }

    private static bool IsConnectionLoss(Exception e) => e is IOException or SocketException or ObjectDisposedException;

    private ImageAccessException Lost(Exception e) => new($"Lost the connection to NBD export '{Path}': {e.Message}", e);
}
