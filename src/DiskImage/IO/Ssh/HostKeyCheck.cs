using System.Security.Cryptography;
using DiskImage.Options;

namespace DiskImage.IO.Ssh;

/// <summary>The server's host key held against the node's <c>host-key-check</c>, with QEMU's line for a refusal.</summary>
internal static class HostKeyCheck
{
    /// <summary>Null when the key passes, else the reason in QEMU's words.</summary>
    public static string? Refusal(SshTarget target, int port, byte[] keyBlob, IEnumerable<string> knownHostsFiles)
    {
        var check = target.HostKeyCheck;
        var keyType = new WireReader(keyBlob).Text() ?? "";
        switch (check.Mode)
        {
            case SshHostKeyMode.None:
                return null;
            case SshHostKeyMode.Hash:
                var type = check.HashType ?? "";
                var given = check.Hash ?? "";
                var hash = type switch
                {
                    "md5" => MD5.HashData(keyBlob),
                    "sha1" => SHA1.HashData(keyBlob),
                    _ => SHA256.HashData(keyBlob),
                };
                return MatchesHex(hash, given) ? null
                    : $"remote host {keyType} key fingerprint '{type}:{Convert.ToHexStringLower(hash)}' does not match host_key_check '{type}:{given}'";
            default:
                return KnownHosts.Check(target.Host, port, keyBlob, knownHostsFiles) switch
                {
                    KnownHostState.Ok => null,
                    KnownHostState.Changed => $"host key ({keyType} key with fingerprint SHA256:{Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=')}) does not match the one in known_hosts; this may be a possible attack",
                    KnownHostState.OtherType => "host key for this server not found, another type exists",
                    _ => "no host key was found in known_hosts",
                };
        }
    }

    /// <summary>
    /// Whether <paramref name="given"/> spells <paramref name="hash"/> in hex (either case), colons allowed before each
    /// byte, nothing after the last; as QEMU compares them.
    /// </summary>
    internal static bool MatchesHex(ReadOnlySpan<byte> hash, ReadOnlySpan<char> given)
    {
        foreach (var b in hash)
        {
            given = given.TrimStart(':');
            if (given.Length < 2 || !char.IsAsciiHexDigit(given[0]) || !char.IsAsciiHexDigit(given[1])
                || Convert.FromHexString(given[..2])[0] != b)
            {
                return false;
            }

            given = given[2..];
        }

        return given.IsEmpty;
    }
}
