using System.Globalization;
using DiskImage.Options;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// Where an <c>iscsi</c> node logs in and what it offers: QEMU's driver options (<c>transport</c>, <c>portal</c>,
/// <c>target</c>, <c>lun</c>, <c>user</c>, <c>password</c>, <c>initiator-name</c>, <c>header-digest</c>, <c>timeout</c>).
/// <see cref="Given"/> keeps the options as they were given (text or number), in the order QEMU inserted them, for the
/// <c>json:</c> name it prints.
/// </summary>
internal sealed record IscsiTarget(
    string Transport,
    string Portal,
    string TargetName,
    int Lun,
    string? User,
    string? Password,
    string InitiatorName,
    IscsiDigest HeaderDigest,
    int TimeoutSeconds,
    IReadOnlyList<KeyValuePair<string, string>> Given)
{
    /// <summary>The initiator name QEMU uses when none is given (qemu-img has no VM name or UUID).</summary>
    public const string DefaultInitiatorName = "iqn.2008-11.org.linux-kvm";

    /// <summary>The node's options as QEMU prints them in a <c>json:</c> name (its option dictionary's order).</summary>
    public string NodeObject => QemuJson.Object([.. Given.Select(g => new KeyValuePair<string, string?>(g.Key, g.Value))]);

    /// <summary>The node's own name: <c>json:</c> and its options.</summary>
    public string NodeName => JsonFilename.Prefix + NodeObject;

    /// <summary>Host and port of the portal (3260 when none is given; 0 for a port that is no port, which no connection reaches); an IPv6 host is given in brackets.</summary>
    public (string Host, int Port) Endpoint()
    {
        var host = Portal;
        var port = 3260;
        var colon = host.LastIndexOf(':');
        if (colon >= 0 && colon > host.LastIndexOf(']'))
        {
            port = int.TryParse(host.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p <= 65535 ? p : 0;
            host = host[..colon];
        }

        return (host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host, port);
    }
}

/// <summary>What the initiator offers for HeaderDigest (QEMU's <c>header-digest</c>); the default offers none first.</summary>
internal enum IscsiDigest
{
    /// <summary>Only no digest.</summary>
    None,

    /// <summary>Only CRC32C.</summary>
    Crc32c,

    /// <summary>No digest preferred, CRC32C accepted (QEMU's default).</summary>
    NoneCrc32c,

    /// <summary>CRC32C preferred, no digest accepted.</summary>
    Crc32cNone,
}
