namespace DiskImage.Cli;

/// <summary>
/// <c>--object help</c>, <c>--object TYPE,help</c> (or <c>?</c>): QEMU 7.2's object types a user can create, and each
/// type's properties, listed as qemu-img and qemu-io list them when they read the option (then they exit, status 0).
/// An unknown type asking for help gets the list of types.
/// </summary>
internal static class ObjectHelp
{
    private static readonly Dictionary<string, string[]> s_properties = new(StringComparer.Ordinal)
    {
        ["authz-list"] = ["policy=<QAuthZListPolicy>", "rules=<QAuthZListRule>"],
        ["authz-list-file"] = ["filename=<string>", "refresh=<bool>"],
        ["authz-simple"] = ["identity=<string>"],
        ["main-loop"] = ["aio-max-batch=<int>", "thread-pool-max=<int>", "thread-pool-min=<int>"],
        ["pr-manager-helper"] = ["path=<string>"],
        ["secret"] = ["data=<string>", "file=<string>", "format=<QCryptoSecretFormat>", "iv=<string>", "keyid=<string>"],
        ["secret_keyring"] = ["format=<QCryptoSecretFormat>", "iv=<string>", "keyid=<string>", "serial=<int32_t>"],
        ["thread-context"] = ["cpu-affinity=<int>", "node-affinity=<int>"],
        ["throttle-group"] = ["limits=<ThrottleLimits>", "x-bps-read-max-length=<int>", "x-bps-read-max=<int>", "x-bps-read=<int>", "x-bps-total-max-length=<int>", "x-bps-total-max=<int>", "x-bps-total=<int>", "x-bps-write-max-length=<int>", "x-bps-write-max=<int>", "x-bps-write=<int>", "x-iops-read-max-length=<int>", "x-iops-read-max=<int>", "x-iops-read=<int>", "x-iops-size=<int>", "x-iops-total-max-length=<int>", "x-iops-total-max=<int>", "x-iops-total=<int>", "x-iops-write-max-length=<int>", "x-iops-write-max=<int>", "x-iops-write=<int>"],
        ["tls-cipher-suites"] = ["dir=<string>", "endpoint=<QCryptoTLSCredsEndpoint>", "priority=<string>", "verify-peer=<bool>"],
        ["tls-creds-anon"] = ["dir=<string>", "endpoint=<QCryptoTLSCredsEndpoint>", "priority=<string>", "verify-peer=<bool>"],
        ["tls-creds-psk"] = ["dir=<string>", "endpoint=<QCryptoTLSCredsEndpoint>", "priority=<string>", "username=<string>", "verify-peer=<bool>"],
        ["tls-creds-x509"] = ["dir=<string>", "endpoint=<QCryptoTLSCredsEndpoint>", "passwordid=<string>", "priority=<string>", "sanity-check=<bool>", "verify-peer=<bool>"],
    };

    /// <summary>The text to print for an <c>--object</c> value that asks for help; null when it asks for none.</summary>
    public static string? For(string definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var parts = definition.Split(',');
        var first = parts[0].StartsWith("qom-type=", StringComparison.Ordinal) ? parts[0]["qom-type=".Length..] : parts[0];
        if (IsHelp(first))
        {
            return TypeList();
        }

        if (!parts.Skip(1).Any(IsHelp))
        {
            return null;
        }

        return s_properties.TryGetValue(first, out var properties)
            ? $"{first} options:\n" + string.Concat(properties.Select(p => $"  {p}\n"))
            : TypeList();
    }

    private static bool IsHelp(string word) => word is "help" or "?";

    private static string TypeList() =>
        "List of user creatable objects:\n" + string.Concat(s_properties.Keys.Order(StringComparer.Ordinal).Select(t => $"  {t}\n"));
}
