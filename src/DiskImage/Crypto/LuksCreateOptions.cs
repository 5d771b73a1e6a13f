using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// How to create a LUKS volume, with QEMU's defaults (aes-256 xts-plain64, sha256, 2 s of PBKDF2).
/// <see cref="KeySecret"/> names the secret holding the first passphrase (<c>encrypt.key-secret</c>).
/// </summary>
public sealed record LuksCreateOptions
{
    /// <summary>Cipher, mode and IV generator of the new volume; aes-256 xts-plain64 by default.</summary>
    public LuksCipherSpec Cipher { get; init; } = LuksCipherSpec.Default;

    /// <summary><c>encrypt.hash-alg</c>: PBKDF2 and anti-forensic hash.</summary>
    public HashAlgorithmName Hash { get; init; } = HashAlgorithmName.SHA256;

    /// <summary><c>encrypt.iter-time</c>: milliseconds PBKDF2 should take.</summary>
    public long IterTimeMs { get; init; } = Pbkdf2Calibration.DefaultIterTimeMs;

    /// <summary><c>encrypt.key-secret</c>: id of the secret with the passphrase for key slot 0.</summary>
    public string? KeySecret { get; init; }

    /// <summary>
    /// Reads the <c>encrypt.*</c> keys of a qemu-img <c>-o</c> list (<c>encrypt.format</c> excluded:
    /// the caller has decided it is luks). Unknown <c>encrypt.</c> keys are refused.
    /// </summary>
    public static LuksCreateOptions FromKeyValues(IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? Get(string key) => options.TryGetValue("encrypt." + key, out var value) ? value : null;
        foreach (var key in options.Keys)
        {
            if (key.StartsWith("encrypt.", StringComparison.Ordinal) && !s_createKeys.Contains(key["encrypt.".Length..]))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }
        }

        // QEMU's option visitor checks every name against its enumerations before its LUKS driver looks at them.
        foreach (var (key, allowed) in s_enumerations)
        {
            if (Get(key) is { } value && !allowed.Contains(value))
            {
                throw new DriverOptionException($"Parameter '{key}' does not accept value '{value}'");
            }
        }

        var spec = LuksCipherSpec.FromOptions(Get("cipher-alg"), Get("cipher-mode"), Get("ivgen-alg"), Get("ivgen-hash-alg"));
        var hash = LuksHash.Parse(Get("hash-alg") ?? "sha256");

        var iterTime = (long)Pbkdf2Calibration.DefaultIterTimeMs;
        if (Get("iter-time") is { } iterText && (!long.TryParse(iterText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out iterTime) || iterTime <= 0))
        {
            throw new InvalidOptionException($"Parameter 'encrypt.iter-time' expects a positive number of milliseconds");
        }

        return new LuksCreateOptions { Cipher = spec, Hash = hash, IterTimeMs = iterTime, KeySecret = Get("key-secret") };
    }

    private static readonly HashSet<string> s_hashNames = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"];

    /// <summary>QEMU 7.2's enumerations for the cipher keys, in the order its visitor reads them.</summary>
    private static readonly (string Key, HashSet<string> Allowed)[] s_enumerations =
    [
        ("cipher-alg", ["aes-128", "aes-192", "aes-256", "des", "3des", "cast5-128", "serpent-128", "serpent-192", "serpent-256", "twofish-128", "twofish-192", "twofish-256"]),
        ("cipher-mode", ["ecb", "cbc", "xts", "ctr"]),
        ("ivgen-alg", ["plain", "plain64", "essiv"]),
        ("ivgen-hash-alg", s_hashNames),
        ("hash-alg", s_hashNames),
    ];

    private static readonly HashSet<string> s_createKeys = ["format", "key-secret", "cipher-alg", "cipher-mode", "ivgen-alg", "ivgen-hash-alg", "hash-alg", "iter-time"];
}
