using System.Globalization;

namespace DiskImage.Options;

/// <summary>
/// QEMU's <c>ssh</c> protocol node: its options read and checked in the order and words of QEMU 7.2's driver (the
/// legacy <c>host</c>/<c>port</c>/<c>host_key_check</c> keys first, then the <c>server.*</c>, <c>path</c>, <c>user</c>
/// and <c>host-key-check.*</c> keys), or an <c>ssh://[user@]host[:port]/path</c> file name. The result is where
/// to connect; see <see cref="IO.Ssh.SshStorage"/> for what happens there.
/// </summary>
internal static class SshNode
{
    /// <summary>The keys of an <c>InetSocketAddress</c> besides host and port, each a boolean except <c>to</c>.</summary>
    private static readonly string[] ServerFlags = ["numeric", "to", "ipv4", "ipv6", "keep-alive", "mptcp"];

    /// <summary>Whether <paramref name="name"/> is an <c>ssh://</c> URI.</summary>
    public static bool IsSshUri(string name) => name.StartsWith("ssh://", StringComparison.Ordinal);

    /// <summary>The node given as options (json: or --image-opts) for the open under way, if one is.</summary>
    private static readonly AsyncLocal<SshTarget?> s_given = new();

    /// <summary>
    /// The ssh:// name a node given as options travels under. While the open that names it runs
    /// (<see cref="Given"/>), reading the name back gives the node itself, so a <c>host-key-check</c> given as a
    /// structure is not mistaken for the legacy query QEMU shows in the node's name.
    /// </summary>
    public static string NameOf(SshTarget target) => target.ToUri();

    /// <summary>
    /// Makes <paramref name="target"/> (a node given as options) what its ssh:// name reads back as, until the result
    /// is disposed: for one open, in its flow of execution only, so nothing outlives it. Null keeps the node given by an
    /// enclosing open, as <see cref="IO.Curl.CurlStorage.Given"/> keeps its options.
    /// </summary>
    public static IDisposable Given(SshTarget? target)
    {
        var previous = s_given.Value;
        s_given.Value = target ?? previous;
        return new Restore(previous);
    }

    private sealed class Restore(SshTarget? previous) : IDisposable
    {
        public void Dispose() => s_given.Value = previous;
    }

    /// <summary>An <c>ssh://[user@]host[:port]/path[?host_key_check=...]</c> file name, read as QEMU's driver reads it.</summary>
    public static SshTarget FromUri(string uri) =>
        s_given.Value is { } given && given.ToUri() == uri ? given : Parse(ParseUri(uri).ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal));

    /// <summary>Reads the node's options (every value as text); refusals are <see cref="InvalidOptionException"/>s in QEMU's words.</summary>
    /// <remarks>A <c>filename</c> among the options is not read as a URI (QEMU parses only a file name given as one), and is dropped.</remarks>
    public static SshTarget Parse(IReadOnlyDictionary<string, string> given)
    {
        var options = new Dictionary<string, string>(given, StringComparer.Ordinal);
        options.Remove("filename");

        // The legacy keys come first: host as text, port as a number, host_key_check turned into host-key-check.*.
        options.Remove("host", out var host);
        if (options.Remove("port", out var port))
        {
            QemuNumber.Parse("port", port);
        }

        options.Remove("host_key_check", out var hostKeyCheck);
        if (host is null && port is not null)
        {
            throw new InvalidOptionException("port may not be used without host");
        }

        if (host is not null)
        {
            options["server.host"] = host;
            options["server.port"] = port ?? "22";
        }

        if (hostKeyCheck is not null)
        {
            LegacyHostKeyCheck(hostKeyCheck, options);
        }

        // Read before the checks below take the keys out; the checks vouch for their form.
        options.TryGetValue("host-key-check.mode", out var checkMode);
        options.TryGetValue("host-key-check.type", out var checkType);
        options.TryGetValue("host-key-check.hash", out var checkHash);

        // Then the structure, member by member as QEMU's visitor walks it.
        if (!options.Keys.Any(k => k.StartsWith("server.", StringComparison.Ordinal)))
        {
            throw new InvalidOptionException("Parameter 'server' is missing");
        }

        var serverHost = Required(options, "server.host");
        var serverPort = Required(options, "server.port");
        foreach (var flag in ServerFlags)
        {
            if (options.Remove("server." + flag, out var value))
            {
                CheckServerFlag(flag, value);
            }
        }

        if (options.Keys.FirstOrDefault(k => k.StartsWith("server.", StringComparison.Ordinal)) is { } unexpectedServerKey)
        {
            throw new InvalidOptionException($"Parameter '{unexpectedServerKey}' is unexpected");
        }

        var path = Required(options, "path");
        options.Remove("user", out var user);
        CheckHostKeyCheck(options);
        if (options.Count > 0)
        {
            throw new InvalidOptionException($"Parameter '{options.Keys.First()}' is unexpected");
        }

        // The driver itself wants a decimal port before it connects.
        if (!IsNumericPort(serverPort))
        {
            throw new InvalidOptionException("Use only numeric port value");
        }

        var check = checkMode switch
        {
            "none" => new SshHostKeyCheck(SshHostKeyMode.None, null, null),
            "hash" => new SshHostKeyCheck(SshHostKeyMode.Hash, checkType, checkHash),
            _ => new SshHostKeyCheck(SshHostKeyMode.KnownHosts, null, null),
        };
        return new SshTarget(serverHost, serverPort, path, user, check, hostKeyCheck);
    }

    /// <summary>An <c>ssh://</c> URI as the options QEMU's driver derives from it (a port of 0 or none is 22).</summary>
    private static IEnumerable<KeyValuePair<string, string>> ParseUri(string uri)
    {
        if (!IsSshUri(uri))
        {
            throw new InvalidOptionException("URI scheme must be 'ssh'");
        }

        var rest = uri["ssh://".Length..];
        var query = "";
        if (rest.IndexOf('?', StringComparison.Ordinal) is var q and >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "" : Uri.UnescapeDataString(rest[slash..]);
        string? user = null;
        if (authority.LastIndexOf('@') is var at and >= 0)
        {
            user = Uri.UnescapeDataString(authority[..at]);
            authority = authority[(at + 1)..];
        }

        var host = authority;
        var portNumber = 0;
        var colon = authority.LastIndexOf(':');
        if (colon >= 0 && colon > authority.LastIndexOf(']'))
        {
            host = authority[..colon];
            var portText = authority[(colon + 1)..];
            if (portText.Length > 0 && !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out portNumber))
            {
                throw new InvalidOptionException($"Could not parse URI '{uri}'");
            }
        }

        host = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : Uri.UnescapeDataString(host);
        if (host.Length == 0)
        {
            throw new InvalidOptionException("missing hostname in URI");
        }

        if (path.Length == 0)
        {
            throw new InvalidOptionException("missing remote path in URI");
        }

        if (!string.IsNullOrEmpty(user))
        {
            yield return new("user", user);
        }

        yield return new("server.host", host);
        yield return new("server.port", (portNumber == 0 ? 22 : portNumber).ToString(CultureInfo.InvariantCulture));
        yield return new("path", path);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            // Only host_key_check is read; QEMU ignores other query parameters.
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && pair[..eq] == "host_key_check")
            {
                yield return new("host_key_check", Uri.UnescapeDataString(pair[(eq + 1)..]));
            }
        }
    }

    /// <summary>The legacy <c>host_key_check</c> value (<c>no</c>, <c>yes</c>, <c>md5:</c>/<c>sha1:</c>/<c>sha256:HASH</c>).</summary>
    private static void LegacyHostKeyCheck(string value, Dictionary<string, string> options)
    {
        if (value == "no")
        {
            options["host-key-check.mode"] = "none";
        }
        else if (value == "yes")
        {
            options["host-key-check.mode"] = "known_hosts";
        }
        else if (new[] { "md5", "sha1", "sha256" }.FirstOrDefault(t => value.StartsWith(t + ":", StringComparison.Ordinal)) is { } type)
        {
            options["host-key-check.mode"] = "hash";
            options["host-key-check.type"] = type;
            options["host-key-check.hash"] = value[(type.Length + 1)..];
        }
        else
        {
            throw new InvalidOptionException($"unknown host_key_check setting ({value})");
        }
    }

    /// <summary><c>host-key-check</c>: its <c>mode</c>, and for <c>hash</c> the hash's <c>type</c> and value.</summary>
    private static void CheckHostKeyCheck(Dictionary<string, string> options)
    {
        if (!options.Keys.Any(k => k.StartsWith("host-key-check.", StringComparison.Ordinal)))
        {
            return;
        }

        var mode = Required(options, "host-key-check.mode");
        if (mode is not ("none" or "hash" or "known_hosts"))
        {
            throw new InvalidOptionException($"Parameter 'mode' does not accept value '{mode}'");
        }

        if (mode == "hash")
        {
            var type = Required(options, "host-key-check.type");
            if (type is not ("md5" or "sha1" or "sha256"))
            {
                throw new InvalidOptionException($"Parameter 'type' does not accept value '{type}'");
            }

            Required(options, "host-key-check.hash");
        }

        if (options.Keys.FirstOrDefault(k => k.StartsWith("host-key-check.", StringComparison.Ordinal)) is { } unexpected)
        {
            throw new InvalidOptionException($"Parameter '{unexpected}' is unexpected");
        }
    }

    /// <summary>A server flag checked for form: <c>to</c> a port number, the others booleans.</summary>
    private static void CheckServerFlag(string flag, string value)
    {
        if (flag == "to")
        {
            ulong number;
            try
            {
                number = QemuNumber.Parse("to", value);
            }
            catch (InvalidOptionException)
            {
                throw new InvalidOptionException("Parameter 'server.to' expects integer");
            }

            if (number > ushort.MaxValue)
            {
                throw new InvalidOptionException("Parameter 'to' expects uint16_t");
            }

            return;
        }

        if (value is not ("on" or "yes" or "true" or "y" or "off" or "no" or "false" or "n"))
        {
            throw new InvalidOptionException($"Parameter 'server.{flag}' expects 'on' or 'off'");
        }
    }

    private static string Required(Dictionary<string, string> options, string key) =>
        options.Remove(key, out var value) ? value : throw new InvalidOptionException($"Parameter '{key}' is missing");

    /// <summary>A port as the driver reads it: decimal after optional white space and sign, nothing after, within 32 bits.</summary>
    private static bool IsNumericPort(string text)
    {
        var s = text.TrimStart(' ', '\t', '\n', '\v', '\f', '\r');
        var negative = s.StartsWith('-');
        if (negative || s.StartsWith('+'))
        {
            s = s[1..];
        }

        return s.Length > 0 && s.All(char.IsAsciiDigit)
            && ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && (negative ? value <= (ulong)int.MaxValue + 1 : value <= uint.MaxValue);
    }
}

/// <summary>
/// Where an <c>ssh</c> node connects: the server's host and port (as given), the remote path, the user (null: the
/// local one), how the server's key is checked, and the legacy <c>host_key_check</c> text when one was given (QEMU
/// shows it in the node's name).
/// </summary>
internal sealed record SshTarget(string Host, string Port, string Path, string? User, SshHostKeyCheck HostKeyCheck, string? LegacyHostKeyCheck)
{
    /// <summary>
    /// The name QEMU gives the node (its exact file name): <c>ssh://user@host:port/path</c>, the local user when none
    /// is given, with a legacy <c>host_key_check</c> as its query.
    /// </summary>
    public string NodeName =>
        $"ssh://{User ?? Environment.UserName}@{Host}:{Port}{Path}" + (LegacyHostKeyCheck is { } check ? "?host_key_check=" + check : "");

    /// <summary>The target as an <c>ssh://</c> file name that opens it again (the check as a <c>host_key_check</c> query).</summary>
    public string ToUri()
    {
        var check = LegacyHostKeyCheck ?? HostKeyCheck.Mode switch
        {
            SshHostKeyMode.None => "no",
            SshHostKeyMode.Hash => $"{HostKeyCheck.HashType}:{HostKeyCheck.Hash}",
            _ => null,
        };
        var user = User is null ? "" : Uri.EscapeDataString(User) + "@";
        var host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        var path = Path.Replace("%", "%25", StringComparison.Ordinal).Replace("?", "%3F", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal);
        return $"ssh://{user}{host}:{Port}{path}" + (check is null ? "" : "?host_key_check=" + Uri.EscapeDataString(check));
    }
}

/// <summary>How the server's host key is checked: not at all, against a hash given (<c>md5</c>, <c>sha1</c> or <c>sha256</c>), or against known_hosts.</summary>
internal sealed record SshHostKeyCheck(SshHostKeyMode Mode, string? HashType, string? Hash);

/// <summary>QEMU's <c>host-key-check.mode</c>.</summary>
internal enum SshHostKeyMode
{
    /// <summary>Any key is accepted.</summary>
    None,

    /// <summary>The key's hash must match the one given.</summary>
    Hash,

    /// <summary>The key must be in ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts (the default).</summary>
    KnownHosts,
}
