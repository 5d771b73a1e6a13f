namespace DiskImage.Cli;

/// <summary>
/// <c>--object help</c> and <c>--object secret,help</c>: qemu-img prints the object types it can create (or a
/// secret's properties) as it reads the option, and exits with success before anything else on the line.
/// </summary>
internal static class ObjectHelp
{
    /// <summary>The object types qemu-img 7.2 lists as user creatable (QEMU's names; only some are built here).</summary>
    public static readonly string[] QemuTypes =
    [
        "authz-list", "authz-list-file", "authz-simple", "main-loop", "pr-manager-helper", "secret", "secret_keyring",
        "thread-context", "throttle-group", "tls-cipher-suites", "tls-creds-anon", "tls-creds-psk", "tls-creds-x509",
    ];

    /// <summary>The text qemu-img prints for this <c>--object</c> value, or null when it asks for no help.</summary>
    public static string? TextFor(string definition)
    {
        var parts = definition.Split(',');
        var type = parts[0].StartsWith("qom-type=", StringComparison.Ordinal) ? parts[0]["qom-type=".Length..] : parts[0];
        if (type is "help" or "?")
        {
            return List();
        }

        if (!parts.Skip(1).Any(p => p is "help" or "?"))
        {
            return null;
        }

        return type switch
        {
            "secret" => "secret options:\n  data=<string>\n  file=<string>\n  format=<QCryptoSecretFormat>\n  iv=<string>\n  keyid=<string>\n",
            _ when !QemuTypes.Contains(type, StringComparer.Ordinal) => List(),
            _ => null,
        };
    }

    private static string List() => "List of user creatable objects:\n" + string.Concat(QemuTypes.Select(t => $"  {t}\n"));
}

/// <summary>Help qemu-img prints while it reads its options; the command line ends there, successfully.</summary>
internal sealed class HelpPrintedException(string text) : Exception(text)
{
    public string Text { get; } = text;
}
