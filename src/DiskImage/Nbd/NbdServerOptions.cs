using System.Net.Security;

namespace DiskImage.Nbd;

/// <summary>How an <see cref="NbdServer"/> accepts clients.</summary>
public sealed record NbdServerOptions
{
    /// <summary>The port NBD servers listen on when none is given (IANA's 10809).</summary>
    public const int DefaultPort = 10809;

    /// <summary>
    /// Clients served at once (qemu-nbd's <c>-e</c>); 0 means no limit but <see cref="NbdServer.ConnectionLimit"/>,
    /// which also caps larger values. Others wait in the listen backlog.
    /// </summary>
    public int MaxConnections { get; init; } = 1;

    /// <summary>Keep serving after the last client leaves (qemu-nbd's <c>-t</c>); otherwise stop then.</summary>
    public bool Persistent { get; init; }

    /// <summary>When set, clients must upgrade with <c>NBD_OPT_STARTTLS</c> before anything else.</summary>
    public SslServerAuthenticationOptions? Tls { get; init; }

    /// <summary>
    /// A <c>tls-creds-psk</c> server object: when set (instead of <see cref="Tls"/>), clients must upgrade with
    /// <c>NBD_OPT_STARTTLS</c> and prove they hold a key of its <c>keys.psk</c>.
    /// </summary>
    public NbdTlsCredentials? TlsPsk { get; init; }

    /// <summary>A client that has not finished the handshake by then is dropped, so it cannot hold a slot.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
