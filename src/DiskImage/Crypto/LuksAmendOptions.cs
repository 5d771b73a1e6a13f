using System.Globalization;

namespace DiskImage.Crypto;

/// <summary>
/// A key slot change, qemu-img amend's <c>encrypt.state</c>, <c>encrypt.keyslot</c>, <c>encrypt.new-secret</c>,
/// <c>encrypt.old-secret</c> and <c>encrypt.iter-time</c>. Activating wraps the master key with the new
/// secret; deactivating erases a given slot or every slot the old secret opens.
/// </summary>
public sealed record LuksAmendOptions
{
    /// <summary><c>encrypt.state</c>: true for active (add a key), false for inactive (erase keys).</summary>
    public required bool Activate { get; init; }

    /// <summary><c>encrypt.keyslot</c>: the slot to fill or erase; null to pick the first free one / match by old secret.</summary>
    public int? KeySlot { get; init; }

    /// <summary><c>encrypt.new-secret</c>: id of the passphrase to add.</summary>
    public string? NewSecret { get; init; }

    /// <summary><c>encrypt.old-secret</c>: id of a passphrase that opens existing slots.</summary>
    public string? OldSecret { get; init; }

    /// <summary><c>encrypt.iter-time</c> for the new slot, in milliseconds.</summary>
    public long IterTimeMs { get; init; } = Pbkdf2Calibration.DefaultIterTimeMs;

    /// <summary><c>--force</c>: allow erasing the last active slot.</summary>
    public bool Force { get; init; }

    private static readonly HashSet<string> s_keys = ["state", "keyslot", "new-secret", "old-secret", "iter-time"];

    /// <summary>Whether a qemu-img <c>-o</c> list holds key slot options.</summary>
    public static bool IsPresent(IReadOnlyDictionary<string, string> options) =>
        options.Keys.Any(k => k.StartsWith("encrypt.", StringComparison.Ordinal));

    /// <summary>Reads the <c>encrypt.*</c> keys of an amend <c>-o</c> list, refusing others and QEMU's invalid combinations.</summary>
    public static LuksAmendOptions FromKeyValues(IReadOnlyDictionary<string, string> options, bool force = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? Get(string key) => options.TryGetValue("encrypt." + key, out var value) ? value : null;
        foreach (var key in options.Keys.Where(k => k.StartsWith("encrypt.", StringComparison.Ordinal)))
        {
            if (!s_keys.Contains(key["encrypt.".Length..]))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }
        }

        var activate = Get("state") switch
        {
            "active" => true,
            "inactive" => false,
            null => throw new InvalidOptionException("Parameter 'encrypt.state' is required to change key slots"),
            var other => throw new InvalidOptionException($"Parameter 'encrypt.state' does not accept value '{other}'"),
        };
        int? slot = null;
        if (Get("keyslot") is { } slotText)
        {
            if (!int.TryParse(slotText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed >= 8)
            {
                throw new InvalidOptionException($"Invalid keyslot {slotText} specified, must be between 0 and 7");
            }

            slot = parsed;
        }

        long iterTime = Pbkdf2Calibration.DefaultIterTimeMs;
        if (Get("iter-time") is { } iterText && (!long.TryParse(iterText, NumberStyles.None, CultureInfo.InvariantCulture, out iterTime) || iterTime <= 0))
        {
            throw new InvalidOptionException("Parameter 'encrypt.iter-time' expects a positive number of milliseconds");
        }

        var result = new LuksAmendOptions { Activate = activate, KeySlot = slot, NewSecret = Get("new-secret"), OldSecret = Get("old-secret"), IterTimeMs = iterTime, Force = force };
        result.Validate();
        return result;
    }

    /// <summary>Refuses the combinations QEMU refuses.</summary>
    public void Validate()
    {
        if (Activate && NewSecret is null)
        {
            throw new InvalidOptionException("'new-secret' is required to activate a keyslot");
        }

        if (!Activate && NewSecret is not null)
        {
            throw new InvalidOptionException("'new-secret' must not be given when erasing keyslots");
        }

        if (!Activate && KeySlot is null && OldSecret is null)
        {
            throw new InvalidOptionException("'keyslot' or 'old-secret' is required to erase keyslots");
        }

        if (!Activate && KeySlot is not null && OldSecret is not null)
        {
            throw new InvalidOptionException("'keyslot' and 'old-secret' can't both be given to erase keyslots");
        }
    }

    /// <summary>
    /// Applies the change to <paramref name="volume"/>. The master key for a new slot comes from the old
    /// secret when one is named, otherwise from <paramref name="keySecret"/> (the secret the image was opened with).
    /// </summary>
    internal void Apply(LuksVolume volume, Func<string?, byte[]?>? secrets, string? keySecret)
    {
        Validate();
        if (!Activate)
        {
            if (KeySlot is { } erase)
            {
                volume.EraseKey(erase, Force);
            }
            else
            {
                volume.EraseKeysOpenedBy(EncryptionSecrets.Require(secrets, OldSecret, "encrypt.old-secret"), Force);
            }

            return;
        }

        if (KeySlot is { } slot && !Force)
        {
            volume.RefuseActiveSlot(slot);
        }

        var unlockWith = OldSecret is not null
            ? EncryptionSecrets.Require(secrets, OldSecret, "encrypt.old-secret")
            : EncryptionSecrets.Require(secrets, keySecret);
        var newPassphrase = EncryptionSecrets.Require(secrets, NewSecret, "encrypt.new-secret");
        var masterKey = volume.Unlock(unlockWith);
        try
        {
            volume.AddKey(masterKey, newPassphrase, KeySlot, IterTimeMs, Force);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(masterKey);
        }
    }
}
