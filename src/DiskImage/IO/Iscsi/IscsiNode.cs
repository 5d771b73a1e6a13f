using System.Globalization;
using DiskImage.Options;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// QEMU's <c>iscsi</c> node read from an <c>iscsi://[user%password@]host[:port]/target-iqn/lun</c> name (libiscsi's
/// form) or from options (json: or --image-opts), checked in the order and words of QEMU 7.2's driver.
/// </summary>
internal static class IscsiNode
{
    /// <summary>The driver's own option names; any other key is refused.</summary>
    private static readonly string[] Keys = ["transport", "portal", "target", "user", "password", "password-secret", "lun", "initiator-name", "header-digest", "timeout"];

    /// <summary>Nodes given as options, by the name they travel under (their json: name).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IscsiTarget> s_named = new(StringComparer.Ordinal);

    /// <summary>Looks up secrets by id for <c>password-secret</c> (qemu-img's <c>--object secret</c>).</summary>
    private static Func<string, byte[]?> s_secrets = _ => null;

    public static void UseSecrets(Func<string, byte[]?> lookup) => s_secrets = lookup;

    /// <summary>Whether <paramref name="name"/> is an <c>iscsi://</c> or <c>iser://</c> URL, or a node registered by <see cref="NameOf"/>.</summary>
    public static bool IsIscsi(string name) =>
        name.StartsWith("iscsi://", StringComparison.Ordinal) || name.StartsWith("iser://", StringComparison.Ordinal) || s_named.ContainsKey(name);

    /// <summary>
    /// The iscsi:// name a node given as options travels under; <see cref="FromName"/> gives the node itself back (with
    /// options a URL cannot hold). What qemu-img prints for it is <see cref="IscsiTarget.NodeName"/>, never this.
    /// </summary>
    public static string NameOf(IscsiTarget target)
    {
        var name = $"iscsi://{target.Portal}/{Uri.EscapeDataString(target.TargetName)}/{target.Lun}?node={(uint)target.NodeName.GetHashCode(StringComparison.Ordinal):x8}";
        s_named[name] = target;
        return name;
    }

    /// <summary>The node a name opens: a registered one, or an iscsi:// URL.</summary>
    public static IscsiTarget FromName(string name) => s_named.TryGetValue(name, out var named) ? named : FromUrl(name);

    /// <summary>An iscsi:// (or iser://) URL as the options QEMU's driver derives from it.</summary>
    /// <exception cref="InvalidOptionException">The URL does not parse (QEMU's "Failed to parse URL").</exception>
    public static IscsiTarget FromUrl(string url)
    {
        var url1 = ParseUrl(url) ?? throw new InvalidOptionException($"Failed to parse URL : {url}");
        var options = new List<KeyValuePair<string, string>>
        {
            new("driver", "iscsi"),
            new("transport", url1.Transport),
            new("portal", url1.Portal),
            new("target", url1.Target),
            new("lun", url1.Lun.ToString(CultureInfo.InvariantCulture)),
        };
        if (url1.User is not null)
        {
            options.Add(new("user", url1.User));
            options.Add(new("password", url1.Password ?? ""));
        }

        return Parse(options.Select(o => new KeyValuePair<string, JsonScalar>(o.Key, JsonScalar.String(o.Value))));
    }

    /// <summary>Reads the node's options (driver included); refusals are <see cref="InvalidOptionException"/>s in QEMU's words.</summary>
    public static IscsiTarget Parse(IEnumerable<KeyValuePair<string, JsonScalar>> given)
    {
        var options = new Dictionary<string, JsonScalar>(StringComparer.Ordinal);
        var display = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in given)
        {
            if (key == "filename")
            {
                continue;
            }

            options[key] = value;
            if (key != "timeout")
            {
                // QEMU names the node by its strong options: the timeout changes nothing that is read.
                display.Add(new(key, QemuJson.Scalar(value)));
            }
        }

        options.Remove("driver");
        if (options.Keys.FirstOrDefault(k => !Keys.Contains(k)) is { } unknown)
        {
            throw new InvalidOptionException($"Block protocol 'iscsi' doesn't support the option '{unknown}'");
        }

        var lun = Number(options, "lun");
        var timeout = Number(options, "timeout");
        options.TryGetValue("transport", out var transport);
        options.TryGetValue("portal", out var portal);
        options.TryGetValue("target", out var target);
        if (transport.Text is null || portal.Text is null || target.Text is null)
        {
            throw new InvalidOptionException("Need all of transport, portal and target options");
        }

        if (transport.Text is not ("tcp" or "iser"))
        {
            throw new InvalidOptionException($"Unknown transport: {transport.Text}");
        }

        var (user, password) = Chap(options);
        var digest = options.TryGetValue("header-digest", out var d) ? d.Text switch
        {
            "crc32c" => IscsiDigest.Crc32c,
            "none" => IscsiDigest.None,
            "crc32c-none" => IscsiDigest.Crc32cNone,
            "none-crc32c" => IscsiDigest.NoneCrc32c,
            _ => throw new InvalidOptionException($"Invalid header-digest setting : {d.Text}"),
        } : IscsiDigest.NoneCrc32c;
        var initiator = options.TryGetValue("initiator-name", out var i) ? i.Text : IscsiTarget.DefaultInitiatorName;
        return new IscsiTarget(transport.Text, portal.Text, target.Text, unchecked((int)lun), user, password, initiator, digest,
            (int)Math.Min(timeout, int.MaxValue), display);
    }

    /// <summary>CHAP's user and password: none without a user; the password given or looked up by its secret's id.</summary>
    private static (string? User, string? Password) Chap(Dictionary<string, JsonScalar> options)
    {
        if (!options.TryGetValue("user", out var user))
        {
            return (null, null);
        }

        var hasPassword = options.TryGetValue("password", out var password);
        if (options.TryGetValue("password-secret", out var secretId))
        {
            if (hasPassword)
            {
                throw new InvalidOptionException("'password' and 'password-secret' properties are mutually exclusive");
            }

            var secret = s_secrets(secretId.Text) ?? throw new InvalidOptionException($"No secret with id '{secretId.Text}'");
            return (user.Text, System.Text.Encoding.UTF8.GetString(secret));
        }

        return hasPassword ? (user.Text, password.Text) : throw new InvalidOptionException("CHAP username specified but no password was given");
    }

    /// <summary>A number option (QEMU_OPT_NUMBER): 0 when absent.</summary>
    private static ulong Number(Dictionary<string, JsonScalar> options, string key) =>
        !options.TryGetValue(key, out var value) ? 0
        : value.Kind == JsonScalarKind.Integer && ulong.TryParse(value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : value.Kind == JsonScalarKind.Integer && long.TryParse(value.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var m) ? unchecked((ulong)m)
        : QemuNumber.Parse(key, value.Text);

    private sealed record UrlParts(string Transport, string Portal, string Target, int Lun, string? User, string? Password);

    /// <summary>libiscsi's URL: scheme, optional <c>user%password@</c>, portal, target (percent-decoded) and a LUN strtol takes whole.</summary>
    private static UrlParts? ParseUrl(string url)
    {
        var transport = url.StartsWith("iscsi://", StringComparison.Ordinal) ? "tcp" : url.StartsWith("iser://", StringComparison.Ordinal) ? "iser" : null;
        if (transport is null)
        {
            return null;
        }

        var rest = url[(transport == "tcp" ? "iscsi://".Length : "iser://".Length)..];
        if (rest.IndexOf('?', StringComparison.Ordinal) is var q and >= 0)
        {
            // Query arguments (libiscsi's own settings) are not QEMU options.
            rest = rest[..q];
        }

        string? user = null;
        string? password = null;
        if (rest.IndexOf('@', StringComparison.Ordinal) is var at and >= 0)
        {
            var credentials = rest[..at];
            rest = rest[(at + 1)..];
            // libiscsi keeps a user only with a password after '%'.
            if (credentials.IndexOf('%', StringComparison.Ordinal) is var pct and >= 0)
            {
                user = credentials[..pct];
                password = credentials[(pct + 1)..];
            }
        }

        var parts = rest.Split('/');
        if (parts.Length != 3 || !TryParseLun(parts[2], out var lun))
        {
            return null;
        }

        string target;
        try
        {
            target = Uri.UnescapeDataString(parts[1]);
        }
        catch (UriFormatException)
        {
            return null;
        }

        return new UrlParts(transport, parts[0], target, lun, string.IsNullOrEmpty(user) ? null : user, password);
    }

    /// <summary>strtol over the whole text: leading white space and a sign allowed, at least one digit, nothing after; wraps to int as C's assignment does.</summary>
    private static bool TryParseLun(string text, out int lun)
    {
        lun = 0;
        var s = text.TrimStart(' ', '\t', '\n', '\v', '\f', '\r');
        var negative = s.StartsWith('-');
        if (negative || s.StartsWith('+'))
        {
            s = s[1..];
        }

        if (s.Length == 0 || !s.All(char.IsAsciiDigit))
        {
            return false;
        }

        var value = ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v <= long.MaxValue ? (long)v : long.MaxValue;
        lun = unchecked((int)(negative ? -value : value));
        return true;
    }
}
