using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace DiskImage.Nbd.Client;

/// <summary>
/// A TLS client channel with a pre-shared key (qemu's <c>tls-creds-psk</c>), run by GnuTLS on the connection's
/// socket: .NET's TLS has no PSK cipher suites, and GnuTLS is what qemu-nbd speaks PSK with, so the handshake
/// offers what qemu's client offers and its failures read as qemu-img prints them. One thread may read while
/// another writes, as GnuTLS allows; writers are serialised by the caller.
/// </summary>
internal sealed unsafe partial class GnuTlsPskStream : Stream
{
    private const string Library = "libgnutls.so.30";
    private const uint ClientEnd = 1 << 1;
    private const int CredentialsPsk = 4;
    private const int PskKeyHex = 1;
    private const int ErrorAgain = -28;
    private const int ErrorInterrupted = -52;
    private const int ShutWrite = 1;

    // The priorities qemu's client uses for PSK: the default set plus the PSK key exchanges.
    private const string Priority = "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK";

    private readonly Socket _socket;
    private nint _session;
    private nint _credentials;

    private GnuTlsPskStream(Socket socket) => _socket = socket;

    /// <summary>Runs the handshake as <paramref name="username"/> with the hex key <paramref name="hexKey"/>; a failure is qemu's "TLS handshake failed: ...".</summary>
    public static GnuTlsPskStream Connect(Socket socket, string username, string hexKey)
    {
        var stream = new GnuTlsPskStream(socket);
        try
        {
            stream.Start(username, hexKey);
            return stream;
        }
        catch (DllNotFoundException e)
        {
            stream.Dispose();
            throw new ImageAccessException($"TLS with tls-creds-psk needs GnuTLS ({Library}), which is not installed", e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private void Start(string username, string hexKey)
    {
        Check(AllocateClientCredentials(out _credentials), "Cannot allocate credentials");
        var key = System.Text.Encoding.ASCII.GetBytes(hexKey);
        fixed (byte* keyBytes = key)
        {
            var datum = new Datum { Data = keyBytes, Size = (uint)key.Length };
            Check(SetClientCredentials(_credentials, username, &datum, PskKeyHex), "Cannot set PSK client credentials");
        }

        Check(Init(out _session, ClientEnd), "Cannot initialize TLS session");
        Check(SetPriority(_session, Priority, 0), $"Unable to set TLS session priority {Priority}");
        Check(SetCredentials(_session, CredentialsPsk, _credentials), "Cannot set session credentials");
        var fd = (int)_socket.Handle;
        SetTransport(_session, fd, fd);
        while (true)
        {
            var result = Handshake(_session);
            if (result == 0)
            {
                return;
            }

            if (ErrorIsFatal(result) != 0)
            {
                throw new ImageAccessException($"TLS handshake failed: {Describe(result)}");
            }

            WaitIfBlocked(result);
        }
    }

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        fixed (byte* data = buffer)
        {
            while (true)
            {
                var result = RecordReceive(_session, data, (nuint)buffer.Length);
                if (result >= 0)
                {
                    return (int)result;
                }

                if (ErrorIsFatal((int)result) != 0)
                {
                    throw new IOException($"Cannot read from TLS channel: {Describe((int)result)}");
                }

                WaitIfBlocked((int)result, SelectMode.SelectRead);
            }
        }
    }

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* data = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var result = RecordSend(_session, data + done, (nuint)(buffer.Length - done));
                if (result > 0)
                {
                    done += (int)result;
                    continue;
                }

                if (result == 0 || ErrorIsFatal((int)result) != 0)
                {
                    throw new IOException($"Cannot write to TLS channel: {Describe((int)result)}");
                }

                WaitIfBlocked((int)result, SelectMode.SelectWrite);
            }
        }
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (_session != 0)
        {
            // A close notification only when the socket still takes it; the peer may be gone.
            if (disposing && _socket.Connected)
            {
                _ = Bye(_session, ShutWrite);
            }

            Deinit(_session);
            _session = 0;
        }

        if (_credentials != 0)
        {
            FreeClientCredentials(_credentials);
            _credentials = 0;
        }

        base.Dispose(disposing);
    }

    /// <summary>A non-blocking socket that has nothing yet: wait until it has, then retry.</summary>
    private void WaitIfBlocked(int result, SelectMode mode = SelectMode.SelectRead)
    {
        if (result is ErrorAgain or ErrorInterrupted)
        {
            _socket.Poll(-1, mode);
        }
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new ImageAccessException($"{what}: {Describe(result)}");
        }
    }

    private static string Describe(int error) => Marshal.PtrToStringUTF8(StrError(error)) ?? $"GnuTLS error {error}";

    [StructLayout(LayoutKind.Sequential)]
    private struct Datum
    {
        public byte* Data;
        public uint Size;
    }

    [LibraryImport(Library, EntryPoint = "gnutls_psk_allocate_client_credentials")]
    private static partial int AllocateClientCredentials(out nint credentials);

    [LibraryImport(Library, EntryPoint = "gnutls_psk_set_client_credentials", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetClientCredentials(nint credentials, string username, Datum* key, int flags);

    [LibraryImport(Library, EntryPoint = "gnutls_psk_free_client_credentials")]
    private static partial void FreeClientCredentials(nint credentials);

    [LibraryImport(Library, EntryPoint = "gnutls_init")]
    private static partial int Init(out nint session, uint flags);

    [LibraryImport(Library, EntryPoint = "gnutls_priority_set_direct", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetPriority(nint session, string priorities, nint errorPosition);

    [LibraryImport(Library, EntryPoint = "gnutls_credentials_set")]
    private static partial int SetCredentials(nint session, int type, nint credentials);

    [LibraryImport(Library, EntryPoint = "gnutls_transport_set_int2")]
    private static partial void SetTransport(nint session, int receiveFd, int sendFd);

    [LibraryImport(Library, EntryPoint = "gnutls_handshake")]
    private static partial int Handshake(nint session);

    [LibraryImport(Library, EntryPoint = "gnutls_error_is_fatal")]
    private static partial int ErrorIsFatal(int error);

    [LibraryImport(Library, EntryPoint = "gnutls_record_recv")]
    private static partial nint RecordReceive(nint session, byte* data, nuint size);

    [LibraryImport(Library, EntryPoint = "gnutls_record_send")]
    private static partial nint RecordSend(nint session, byte* data, nuint size);

    [LibraryImport(Library, EntryPoint = "gnutls_bye")]
    private static partial int Bye(nint session, int how);

    [LibraryImport(Library, EntryPoint = "gnutls_deinit")]
    private static partial void Deinit(nint session);

    [LibraryImport(Library, EntryPoint = "gnutls_strerror")]
    private static partial nint StrError(int error);
}
