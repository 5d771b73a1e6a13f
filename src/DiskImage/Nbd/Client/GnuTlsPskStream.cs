using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace DiskImage.Nbd.Client;

/// <summary>
/// A TLS channel with a pre-shared key (qemu's <c>tls-creds-psk</c>), run by GnuTLS on the connection's
/// socket: .NET's TLS has no PSK cipher suites, and GnuTLS is what qemu speaks PSK with, so the handshake
/// offers what qemu offers and its failures read as qemu prints them. The client end presents one user's key;
/// the server end looks the client's identity up in <c>keys.psk</c> through GnuTLS, as qemu-nbd does. One thread
/// may read while another writes, as GnuTLS allows; writers are serialised by the caller.
/// </summary>
internal sealed unsafe partial class GnuTlsPskStream : Stream
{
    private const string Library = "libgnutls.so.30";
    private const uint ServerEnd = 1 << 0;
    private const uint ClientEnd = 1 << 1;
    private const int PemFormat = 1;
    private const int SecurityParameterMedium = 3;
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
    private nint _serverCredentials;
    private nint _dhParameters;
    private bool _established;

    private GnuTlsPskStream(Socket socket) => _socket = socket;

    /// <summary>Runs the handshake as <paramref name="username"/> with the hex key <paramref name="hexKey"/>; a failure is qemu's "TLS handshake failed: ...".</summary>
    public static GnuTlsPskStream Connect(Socket socket, string username, byte[] hexKey)
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

    /// <summary>
    /// Runs the server's handshake with the keys of <paramref name="keyFile"/> (GnuTLS reads the file, as for
    /// qemu-nbd) and, when given, the PEM DH parameters <paramref name="dhParameters"/> (else GnuTLS's known
    /// 2048-bit group, the size qemu generates). A client with a wrong key or an unknown identity fails the handshake.
    /// </summary>
    public static GnuTlsPskStream Accept(Socket socket, string keyFile, byte[]? dhParameters)
    {
        var stream = new GnuTlsPskStream(socket);
        try
        {
            stream.StartServer(keyFile, dhParameters);
            return stream;
        }
        catch (DllNotFoundException e)
        {
            stream.Dispose();
            throw new IOException($"TLS with tls-creds-psk needs GnuTLS ({Library}), which is not installed", e);
        }
        catch (ImageAccessException e)
        {
            // A failed handshake ends only this client's connection, which the server reads as an I/O failure.
            stream.Dispose();
            throw new IOException(e.Message, e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Checks that GnuTLS takes <paramref name="dhParameters"/> (PEM PKCS#3), with qemu's error.</summary>
    public static void CheckDhParameters(string path, byte[] dhParameters)
    {
        nint parameters = 0;
        try
        {
            var result = ImportDhParameters(dhParameters, out parameters);
            if (result < 0)
            {
                throw new ImageAccessException($"Unable to load DH parameters from {path}: {Describe(result)}");
            }
        }
        catch (DllNotFoundException e)
        {
            throw new ImageAccessException($"TLS with tls-creds-psk needs GnuTLS ({Library}), which is not installed", e);
        }
        finally
        {
            if (parameters != 0)
            {
                DhParamsDeinit(parameters);
            }
        }
    }

    private static int ImportDhParameters(byte[] pem, out nint parameters)
    {
        var result = DhParamsInit(out parameters);
        if (result < 0)
        {
            return result;
        }

        fixed (byte* data = pem)
        {
            var datum = new Datum { Data = data, Size = (uint)pem.Length };
            return DhParamsImportPkcs3(parameters, &datum, PemFormat);
        }
    }

    private void StartServer(string keyFile, byte[]? dhParameters)
    {
        Check(AllocateServerCredentials(out _serverCredentials), "Cannot allocate credentials");
        Check(SetServerCredentialsFile(_serverCredentials, keyFile), "Cannot set PSK server credentials");
        if (dhParameters is not null)
        {
            Check(ImportDhParameters(dhParameters, out _dhParameters), "Unable to load DH parameters");
            SetServerDhParameters(_serverCredentials, _dhParameters);
        }
        else
        {
            Check(SetServerKnownDhParameters(_serverCredentials, SecurityParameterMedium), "Unable to set DH parameters");
        }

        Check(Init(out _session, ServerEnd), "Cannot initialize TLS session");
        Check(SetPriority(_session, Priority, 0), $"Unable to set TLS session priority {Priority}");
        Check(SetCredentials(_session, CredentialsPsk, _serverCredentials), "Cannot set session credentials");
        RunHandshake();
    }

    /// <summary>Whether GnuTLS takes <paramref name="hexKey"/> as <paramref name="username"/>'s key, with qemu's error when not.</summary>
    public static void CheckClientKey(string username, byte[] hexKey)
    {
        nint credentials = 0;
        try
        {
            Check(AllocateClientCredentials(out credentials), "Cannot allocate credentials");
            SetKey(credentials, username, hexKey);
        }
        catch (DllNotFoundException e)
        {
            throw new ImageAccessException($"TLS with tls-creds-psk needs GnuTLS ({Library}), which is not installed", e);
        }
        finally
        {
            if (credentials != 0)
            {
                FreeClientCredentials(credentials);
            }
        }
    }

    private static void SetKey(nint credentials, string username, byte[] hexKey)
    {
        // An empty key still points somewhere, as qemu's copy of it does.
        fixed (byte* keyBytes = hexKey.Length == 0 ? new byte[1] : hexKey)
        {
            var datum = new Datum { Data = keyBytes, Size = (uint)hexKey.Length };
            Check(SetClientCredentials(credentials, username, &datum, PskKeyHex), "Cannot set PSK client credentials");
        }
    }

    private void Start(string username, byte[] hexKey)
    {
        Check(AllocateClientCredentials(out _credentials), "Cannot allocate credentials");
        SetKey(_credentials, username, hexKey);

        Check(Init(out _session, ClientEnd), "Cannot initialize TLS session");
        Check(SetPriority(_session, Priority, 0), $"Unable to set TLS session priority {Priority}");
        Check(SetCredentials(_session, CredentialsPsk, _credentials), "Cannot set session credentials");
        RunHandshake();
    }

    private void RunHandshake()
    {
        var fd = (int)_socket.Handle;
        SetTransport(_session, fd, fd);
        while (true)
        {
            var result = Handshake(_session);
            if (result == 0)
            {
                _established = true;
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
            // A close notification only from a client whose channel was set up and whose socket still takes it
            // (the peer may be gone); qemu-nbd's end just closes its socket.
            if (disposing && _established && _credentials != 0 && _socket.Connected)
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

        if (_serverCredentials != 0)
        {
            FreeServerCredentials(_serverCredentials);
            _serverCredentials = 0;
        }

        if (_dhParameters != 0)
        {
            DhParamsDeinit(_dhParameters);
            _dhParameters = 0;
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

    [LibraryImport(Library, EntryPoint = "gnutls_psk_allocate_server_credentials")]
    private static partial int AllocateServerCredentials(out nint credentials);

    [LibraryImport(Library, EntryPoint = "gnutls_psk_set_server_credentials_file", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetServerCredentialsFile(nint credentials, string path);

    [LibraryImport(Library, EntryPoint = "gnutls_psk_set_server_dh_params")]
    private static partial void SetServerDhParameters(nint credentials, nint parameters);

    [LibraryImport(Library, EntryPoint = "gnutls_psk_set_server_known_dh_params")]
    private static partial int SetServerKnownDhParameters(nint credentials, int securityParameter);

    [LibraryImport(Library, EntryPoint = "gnutls_psk_free_server_credentials")]
    private static partial void FreeServerCredentials(nint credentials);

    [LibraryImport(Library, EntryPoint = "gnutls_dh_params_init")]
    private static partial int DhParamsInit(out nint parameters);

    [LibraryImport(Library, EntryPoint = "gnutls_dh_params_import_pkcs3")]
    private static partial int DhParamsImportPkcs3(nint parameters, Datum* data, int format);

    [LibraryImport(Library, EntryPoint = "gnutls_dh_params_deinit")]
    private static partial void DhParamsDeinit(nint parameters);

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
