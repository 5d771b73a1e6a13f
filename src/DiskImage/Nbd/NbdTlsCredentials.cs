using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DiskImage.Options;

namespace DiskImage.Nbd;

/// <summary>
/// qemu's <c>tls-creds-x509</c> object: a directory holding <c>ca-cert.pem</c> and, for a server,
/// <c>server-cert.pem</c>/<c>server-key.pem</c>, for a client optionally <c>client-cert.pem</c>/<c>client-key.pem</c>.
/// With <c>verify-peer=on</c> (qemu's default) the peer must present a certificate signed by the CA.
/// </summary>
public sealed record NbdTlsCredentials(string Id, string Directory, bool IsServer, bool VerifyPeer)
{
    /// <summary>Parses <c>tls-creds-x509,id=ID,dir=DIR,endpoint=server|client,verify-peer=on|off</c>.</summary>
    public static NbdTlsCredentials Parse(string definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var comma = definition.IndexOf(',', StringComparison.Ordinal);
        var type = comma < 0 ? definition : definition[..comma];
        if (type is not ("tls-creds-x509" or "tls-creds-psk"))
        {
            throw new InvalidOptionException($"Object type '{type}' is not a TLS credentials object");
        }

        var properties = KeyValueOptions.Parse([comma < 0 ? "" : definition[(comma + 1)..]]);
        IReadOnlyList<string> allKeys = ["qom-type", .. properties.Keys];
        if (!properties.Remove("id", out var id) || id.Length == 0)
        {
            throw new InvalidOptionException("Parameter 'id' is missing");
        }

        // QEMU first reads the members its schema knows, in schema order, then complains about the rest.
        var verifyPeer = !properties.Remove("verify-peer", out var verify) || KeyValueOptions.ParseBool("verify-peer", verify);
        properties.Remove("dir", out var dir);
        properties.Remove("endpoint", out var endpoint);
        var isServer = endpoint switch
        {
            null or "client" => false,
            "server" => true,
            _ => throw new InvalidOptionException($"Parameter 'endpoint' does not accept value '{endpoint}'"),
        };
        var unsupported = new List<string>();
        if (properties.Remove("priority"))
        {
            unsupported.Add("priority");
        }

        var loaded = properties.Remove("loaded", out var loadedText);
        if (loaded)
        {
            _ = KeyValueOptions.ParseBool("loaded", loadedText!);
        }

        string? username = null;
        if (type == "tls-creds-psk")
        {
            properties.Remove("username", out username);
        }
        else
        {
            if (properties.Remove("sanity-check", out var sanity))
            {
                _ = KeyValueOptions.ParseBool("sanity-check", sanity);
                unsupported.Add("sanity-check");
            }

            if (properties.Remove("passwordid"))
            {
                unsupported.Add("passwordid");
            }
        }

        if (GlibKeyOrder.FirstLeft(allKeys, properties.Keys) is { } unexpected)
        {
            throw new InvalidOptionException($"Parameter '{unexpected}' is unexpected");
        }

        // Then the object is made: the id's form, each property set, and the credentials loaded.
        if (!(char.IsAsciiLetter(id[0]) && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')))
        {
            throw new InvalidOptionException("Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
        }

        if (loaded)
        {
            throw new InvalidOptionException($"Property '{type}.loaded' is not writable");
        }

        if (dir is null || dir.Length == 0)
        {
            throw new InvalidOptionException("Missing 'dir' property value");
        }

        if (unsupported.Count > 0)
        {
            throw new InvalidOptionException($"Property '{unsupported[0]}' of {type} '{id}' is not supported");
        }

        if (isServer && username is not null)
        {
            throw new InvalidOptionException("username should not be set when endpoint=server");
        }

        var credentials = new NbdTlsCredentials(id, dir, isServer, verifyPeer) { IsPsk = type == "tls-creds-psk", PskUsername = username };
        if (credentials.IsPsk && !isServer)
        {
            // qemu loads a client's key when the object is created, so a missing user fails before any open.
            _ = credentials.PskClientKey();
        }

        return credentials;
    }

    /// <summary>Whether this is a <c>tls-creds-psk</c> object (a pre-shared key in <c>keys.psk</c>) rather than <c>tls-creds-x509</c>.</summary>
    public bool IsPsk { get; init; }

    /// <summary>The PSK identity a client presents (qemu's <c>username</c>; <c>qemu</c> when not given).</summary>
    public string? PskUsername { get; init; }

    /// <summary>
    /// The client's PSK identity and its hex key from <c>keys.psk</c> (lines <c>USERNAME:HEXKEY</c>), checked by
    /// GnuTLS as qemu checks it when the object is created; errors carry qemu's wording.
    /// </summary>
    internal (string Username, byte[] HexKey) PskClientKey()
    {
        var username = PskUsername ?? "qemu";
        var path = Path.Combine(Directory, "keys.psk");
        byte[]? key;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            key = PskKeyFile.Find(file, username, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory"
                : e is UnauthorizedAccessException ? "Permission denied"
                : e.Message;
            throw new ImageAccessException($"Cannot read PSK file {path}: Failed to open file \u201c{path}\u201d: {reason}", e);
        }

        if (key is null)
        {
            throw new ImageAccessException($"Username {username} not found in PSK file {path}");
        }

        Client.GnuTlsPskStream.CheckClientKey(username, key);
        return (username, key);
    }

    /// <summary>
    /// Checks a <c>tls-creds-psk</c> server object as qemu-nbd does when it is created: <c>keys.psk</c> must exist,
    /// and an optional <c>dh-params.pem</c> must hold PEM DH parameters. Errors carry qemu's wording.
    /// </summary>
    public void ValidatePskServer() => _ = PskServerDhParameters();

    /// <summary>The server's key file, which GnuTLS reads for each handshake (as for qemu-nbd).</summary>
    internal string KeyFilePath => Path.Combine(Directory, "keys.psk");

    /// <summary>The contents of <c>dh-params.pem</c>, or null when there is none; validated with qemu's errors.</summary>
    internal byte[]? PskServerDhParameters()
    {
        if (!IsServer || !IsPsk)
        {
            throw new InvalidOptionException("Expecting tls-creds-psk credentials with a server endpoint");
        }

        var dhPath = Path.Combine(Directory, "dh-params.pem");
        byte[]? dh;
        try
        {
            // Optional, as for qemu; then the key file decides whether the directory is usable at all.
            dh = File.Exists(dhPath) ? File.ReadAllBytes(dhPath) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageAccessException($"Unable to access credentials {dhPath}: {e.Message}", e);
        }

        if (!File.Exists(KeyFilePath))
        {
            throw new ImageAccessException($"Unable to access credentials {KeyFilePath}: No such file or directory");
        }

        if (dh is not null)
        {
            Client.GnuTlsPskStream.CheckDhParameters(dhPath, dh);
        }

        return dh;
    }

    /// <summary>Options for <see cref="SslStream.AuthenticateAsServerAsync(SslServerAuthenticationOptions, CancellationToken)"/>.</summary>
    public SslServerAuthenticationOptions ServerOptions()
    {
        if (!IsServer)
        {
            throw new InvalidOptionException($"Expecting TLS credentials with a server endpoint");
        }

        if (IsPsk)
        {
            throw new InvalidOptionException("tls-creds-psk credentials are served through NbdServerOptions.TlsPsk");
        }

        var certificate = LoadPair("server-cert.pem", "server-key.pem")
            ?? throw new ImageAccessException($"Unable to access credentials {Path.Combine(Directory, "server-cert.pem")}: No such file or directory");
        var ca = VerifyPeer ? LoadCa() : null;
        return new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = VerifyPeer,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, _, _) => !VerifyPeer || (cert is not null && IsSignedBy(cert, ca!)),
        };
    }

    /// <summary>
    /// Options for <see cref="SslStream.AuthenticateAsClientAsync(SslClientAuthenticationOptions, CancellationToken)"/>.
    /// With <c>verify-peer=on</c> the server's certificate must be signed by the CA and name
    /// <paramref name="hostname"/> (its subject alternative names, else its common name), as qemu's client
    /// checks it; a connection without a host name (a Unix socket without <c>tls-hostname</c>) is refused.
    /// The reason for a refusal is left in <paramref name="rejection"/>.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(string? hostname, NbdTlsRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        if (IsServer)
        {
            throw new InvalidOptionException($"Expecting TLS credentials with a client endpoint");
        }

        var ca = LoadCa();
        var certificate = LoadPair("client-cert.pem", "client-key.pem");
        return new SslClientAuthenticationOptions
        {
            TargetHost = hostname ?? "",
            ClientCertificates = certificate is null ? null : [certificate],
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, _, _) =>
            {
                rejection.Reason = !VerifyPeer ? null
                    : cert is null ? "No certificate peers"
                    : !IsSignedBy(cert, ca) ? "The certificate hasn't got a known issuer"
                    : hostname is null ? "No hostname for certificate validation"
                    : !Names(cert, hostname) ? $"Certificate does not match the hostname {hostname}"
                    : null;
                return rejection.Reason is null;
            },
        };
    }

    private static bool Names(X509Certificate certificate, string hostname)
    {
        using var leaf = new X509Certificate2(certificate);
        return leaf.MatchesHostname(hostname, allowWildcards: true, allowCommonName: true);
    }

    private X509Certificate2 LoadCa()
    {
        var path = Path.Combine(Directory, "ca-cert.pem");
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ImageAccessException($"Unable to access credentials {path}: {e.Message}", e);
        }
    }

    private X509Certificate2? LoadPair(string certName, string keyName)
    {
        var certPath = Path.Combine(Directory, certName);
        var keyPath = Path.Combine(Directory, keyName);
        if (!File.Exists(certPath))
        {
            return null;
        }

        try
        {
            // An ephemeral PEM key cannot serve TLS on every platform; a PKCS#12 round trip makes it usable.
            using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ImageAccessException($"Unable to load credentials {certPath}: {e.Message}", e);
        }
    }

    private static bool IsSignedBy(X509Certificate certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
