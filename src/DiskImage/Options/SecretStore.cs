using System.Text;

namespace DiskImage.Options;

/// <summary>
/// Secrets by id, filled from qemu-img style <c>--object secret,id=ID,data=TEXT</c> or
/// <c>--object secret,id=ID,file=PATH[,format=raw|base64]</c> definitions.
/// <see cref="Get"/> plugs into <c>ImageOpenOptions.SecretProvider</c> and <c>ImageCreateOptions.SecretProvider</c>.
/// Disposing the store wipes the passphrases it holds. It also defines the <c>--object throttle-group,id=ID,...</c>
/// groups given with the secrets, which throttle nodes find by id while the store lives.
/// </summary>
public sealed class SecretStore : IDisposable
{
    private readonly Dictionary<string, byte[]> _secrets = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _throttleGroups = [];

    /// <summary>Builds a store from <c>--object</c> values; objects of other types are refused.</summary>
    public static SecretStore FromObjects(IEnumerable<string> objectDefinitions)
    {
        ArgumentNullException.ThrowIfNull(objectDefinitions);
        var store = new SecretStore();
        try
        {
            foreach (var definition in objectDefinitions)
            {
                store.AddObject(definition);
            }

            return store;
        }
        catch
        {
            // The groups defined before the bad object must not outlive this refusal.
            store.Dispose();
            throw;
        }
    }

    /// <summary>Adds or replaces a secret.</summary>
    public void Add(string id, byte[] value)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(value);
        if (_secrets.TryGetValue(id, out var replaced) && !ReferenceEquals(replaced, value))
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(replaced);
        }

        _secrets[id] = value;
    }

    /// <summary>Zeroes every passphrase and forgets them.</summary>
    public void Dispose()
    {
        foreach (var value in _secrets.Values)
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(value);
        }

        _secrets.Clear();
        _throttleGroups.ForEach(g => g.Dispose());
        _throttleGroups.Clear();
    }

    /// <summary>The secret's bytes, or null when no secret has that id (or the id is null).</summary>
    public byte[]? Get(string? id) => id is not null && _secrets.TryGetValue(id, out var value) ? value : null;

    /// <summary>Parses one <c>--object</c> value and adds the secret it defines.</summary>
    public void AddObject(string definition)
    {
        ArgumentNullException.ThrowIfNull(definition);

        // The type comes first without a key ("secret,id=..."); QEMU also accepts qom-type=secret.
        var comma = definition.IndexOf(',', StringComparison.Ordinal);
        var first = comma < 0 ? definition : definition[..comma];
        var properties = KeyValueOptions.Parse([first.Contains('=', StringComparison.Ordinal) ? definition : (comma < 0 ? "" : definition[(comma + 1)..])]);
        var type = first.Contains('=', StringComparison.Ordinal) ? properties.GetValueOrDefault("qom-type") : first;
        IReadOnlyList<string> allKeys = first.Contains('=', StringComparison.Ordinal) ? [.. properties.Keys] : ["qom-type", .. properties.Keys];
        properties.Remove("qom-type");
        if (type is null)
        {
            throw new InvalidOptionException("Parameter 'qom-type' is missing");
        }

        if (type == "throttle-group")
        {
            _throttleGroups.Add(Formats.Filters.Throttle.ThrottleGroups.Define(properties, allKeys));
            return;
        }

        if (type != "secret")
        {
            throw new InvalidOptionException(IsQemuObjectType(type)
                ? $"Object type '{type}' is not supported (only 'secret' and 'throttle-group' objects are)"
                : $"Parameter 'qom-type' does not accept value '{type}'");
        }

        if (!properties.Remove("id", out var id) || id.Length == 0)
        {
            throw new InvalidOptionException("Parameter 'id' is missing");
        }

        // QEMU first reads the members its schema knows, in schema order, then complains about the rest.
        var loaded = properties.Remove("loaded", out var loadedText) ? KeyValueOptions.ParseBool("loaded", loadedText) : (bool?)null;
        var format = properties.Remove("format", out var formatText) ? formatText : null;
        if (format is not (null or "raw" or "base64"))
        {
            throw new InvalidOptionException($"Parameter 'format' does not accept value '{format}'");
        }

        properties.Remove("keyid", out var keyId);
        properties.Remove("iv", out var iv);
        properties.Remove("data", out var data);
        properties.Remove("file", out var file);
        if (GlibKeyOrder.FirstLeft(allKeys, properties.Keys) is { } unexpected)
        {
            throw new InvalidOptionException($"Parameter '{unexpected}' is unexpected");
        }

        // Then it makes the object: the id's form, each property set, the id claimed, and the secret loaded.
        if (!IsIdentifier(id))
        {
            throw new InvalidOptionException("Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
        }

        if (loaded is not null)
        {
            throw new InvalidOptionException("Property 'secret.loaded' is not writable");
        }

        if (_secrets.ContainsKey(id))
        {
            // QEMU keeps every object under its id in one container.
            throw new InvalidOptionException($"attempt to add duplicate property '{id}' to object (type 'container')");
        }

        if (data is not null && file is not null)
        {
            throw new InvalidOptionException("'data' and 'file' are mutually exclusive");
        }

        byte[] raw;
        if (data is not null)
        {
            raw = Encoding.UTF8.GetBytes(data);
        }
        else if (file is not null)
        {
            try
            {
                raw = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // GLib's wording, which QEMU passes on.
                var reason = e switch
                {
                    FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
                    UnauthorizedAccessException => "Permission denied",
                    _ => e.Message,
                };
                throw new ImageAccessException($"Unable to read {file}: Failed to open file \u201c{file}\u201d: {reason}", e);
            }
        }
        else
        {
            throw new InvalidOptionException("Either 'file' or 'data' must be provided");
        }

        if (keyId is not null)
        {
            // An encrypted secret: the text (or its base64 form) is AES-256-CBC under another secret.
            var ciphertext = format == "base64" ? DecodeBase64(raw, id) : raw;
            if (keyId == id)
            {
                // The new object already stands under its id, still without data.
                throw new InvalidOptionException($"Secret with id '{id}' has no data");
            }

            Add(id, SecretDecryption.Decrypt(ciphertext, Get(keyId), keyId, iv));
            return;
        }

        Add(id, format == "base64" ? DecodeBase64(raw, id) : raw);
    }

    /// <summary>QEMU's identifier rule for object ids: a letter, then letters, digits, '-', '.' or '_'.</summary>
    private static bool IsIdentifier(string id) =>
        char.IsAsciiLetter(id[0]) && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');

    /// <summary>The object types QEMU can create from <c>--object</c> (others are an unknown <c>qom-type</c>).</summary>
    private static bool IsQemuObjectType(string? type) => type is "authz-list" or "authz-list-file" or "authz-simple" or "main-loop"
        or "pr-manager-helper" or "secret" or "secret_keyring" or "thread-context" or "throttle-group" or "tls-cipher-suites"
        or "tls-creds-anon" or "tls-creds-psk" or "tls-creds-x509";

    /// <summary>
    /// Base64 as QEMU decodes a secret: only the alphabet, '=' and newlines are allowed; then it is read as GLib reads
    /// it (<see cref="Codecs.GlibBase64"/>).
    /// </summary>
    private static byte[] DecodeBase64(byte[] text, string id)
    {
        try
        {
            foreach (var c in text)
            {
                if (c != '\n' && Codecs.GlibBase64.Rank(c) < 0)
                {
                    throw new InvalidOptionException("Base64 data contains invalid characters");
                }
            }

            _ = id;
            var output = new byte[(text.Length / 4 * 3) + 3];
            var length = Codecs.GlibBase64.Decode(text, output);
            var result = output.AsSpan(0, length).ToArray();
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(output);
            return result;
        }
        finally
        {
            // The encoded form is the secret too.
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(text);
        }
    }
}
