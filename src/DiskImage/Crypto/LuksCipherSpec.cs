using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// What a LUKS volume encrypts with: block cipher and key size, chaining mode, IV generator (and its hash for ESSIV).
/// Converts between QEMU's option names (<c>twofish-256</c>, <c>xts</c>, <c>plain64</c>) and the LUKS header
/// strings (<c>twofish</c>, <c>xts-plain64</c>, <c>cbc-essiv:sha256</c>).
/// </summary>
public sealed record LuksCipherSpec
{
    /// <summary>QEMU's default: aes-256 xts-plain64.</summary>
    public static LuksCipherSpec Default { get; } = new() { Algorithm = LuksCipherAlgorithm.Aes, KeyBytes = 32, Mode = LuksCipherMode.Xts, IvGenerator = LuksIvGenerator.Plain64 };

    /// <summary>The block cipher (the header's <c>cipher-name</c>).</summary>
    public LuksCipherAlgorithm Algorithm { get; init; } = LuksCipherAlgorithm.Aes;

    /// <summary>Bytes of one cipher key: 16, 24 or 32 (CAST5: 16).</summary>
    public int KeyBytes { get; init; } = 32;

    /// <summary>Block cipher mode (<c>encrypt.cipher-mode</c>).</summary>
    public LuksCipherMode Mode { get; init; } = LuksCipherMode.Xts;

    /// <summary>How each sector's IV is made (<c>encrypt.ivgen-alg</c>).</summary>
    public LuksIvGenerator IvGenerator { get; init; } = LuksIvGenerator.Plain64;

    /// <summary>The hash whose digest keys the ESSIV cipher; only with <see cref="LuksIvGenerator.Essiv"/>.</summary>
    public HashAlgorithmName? IvHash { get; init; }

    /// <summary>Length of the volume (master) key: two cipher keys for XTS.</summary>
    public int MasterKeyBytes => Mode == LuksCipherMode.Xts ? KeyBytes * 2 : KeyBytes;

    /// <summary>The header's cipher name: aes, twofish, serpent or cast5.</summary>
    public string HeaderCipherName => Algorithm switch
    {
        LuksCipherAlgorithm.Twofish => "twofish",
        LuksCipherAlgorithm.Serpent => "serpent",
        LuksCipherAlgorithm.Cast5 => "cast5",
        _ => "aes",
    };

    /// <summary>QEMU's <c>cipher-alg</c>, e.g. aes-256 or cast5-128.</summary>
    public string CipherAlgName => $"{HeaderCipherName}-{KeyBytes * 8}";

    /// <summary>QEMU's <c>cipher-mode</c>.</summary>
    public string CipherModeName => Mode switch
    {
        LuksCipherMode.Xts => "xts",
        LuksCipherMode.Cbc => "cbc",
        LuksCipherMode.Ecb => "ecb",
        _ => "ctr",
    };

    /// <summary>QEMU's <c>ivgen-alg</c>.</summary>
    public string IvGeneratorName => IvGenerator switch
    {
        LuksIvGenerator.Plain => "plain",
        LuksIvGenerator.Plain64 => "plain64",
        _ => "essiv",
    };

    /// <summary>The header's cipher-mode string, e.g. <c>cbc-essiv:sha256</c>.</summary>
    public string HeaderCipherMode => IvGenerator == LuksIvGenerator.Essiv
        ? $"{CipherModeName}-essiv:{LuksHash.NameOf(IvHash!.Value)}"
        : $"{CipherModeName}-{IvGeneratorName}";

    /// <summary>
    /// Builds a spec from QEMU's create options; null arguments take QEMU's defaults. Names outside QEMU's
    /// enumerations, des and 3des (which QEMU's enumeration has but LUKS cannot name) and the combinations QEMU's
    /// cipher layer refuses are refused in QEMU's words, as its driver refuses them (after qemu-img's Formatting line).
    /// </summary>
    public static LuksCipherSpec FromOptions(string? cipherAlg, string? cipherMode, string? ivgenAlg, string? ivgenHashAlg)
    {
        var alg = cipherAlg ?? "aes-256";
        var (algorithm, keyBytes) = alg switch
        {
            "aes-128" => (LuksCipherAlgorithm.Aes, 16),
            "aes-192" => (LuksCipherAlgorithm.Aes, 24),
            "aes-256" => (LuksCipherAlgorithm.Aes, 32),
            "twofish-128" => (LuksCipherAlgorithm.Twofish, 16),
            "twofish-192" => (LuksCipherAlgorithm.Twofish, 24),
            "twofish-256" => (LuksCipherAlgorithm.Twofish, 32),
            "serpent-128" => (LuksCipherAlgorithm.Serpent, 16),
            "serpent-192" => (LuksCipherAlgorithm.Serpent, 24),
            "serpent-256" => (LuksCipherAlgorithm.Serpent, 32),
            "cast5-128" => (LuksCipherAlgorithm.Cast5, 16),
            "des" or "3des" => throw new DriverOptionException($"Algorithm '{alg}' not supported"),
            var other => throw new DriverOptionException($"Parameter 'cipher-alg' does not accept value '{other}'"),
        };
        var mode = (cipherMode ?? "xts") switch
        {
            "xts" => LuksCipherMode.Xts,
            "cbc" => LuksCipherMode.Cbc,
            "ecb" => LuksCipherMode.Ecb,
            "ctr" => LuksCipherMode.Ctr,
            var other => throw new DriverOptionException($"Parameter 'cipher-mode' does not accept value '{other}'"),
        };
        var ivgen = (ivgenAlg ?? "plain64") switch
        {
            "plain" => LuksIvGenerator.Plain,
            "plain64" => LuksIvGenerator.Plain64,
            "essiv" => LuksIvGenerator.Essiv,
            var other => throw new DriverOptionException($"Parameter 'ivgen-alg' does not accept value '{other}'"),
        };
        HashAlgorithmName? ivHash = null;
        if (ivgen == LuksIvGenerator.Essiv)
        {
            var name = ivgenHashAlg ?? "sha256";
            if (!LuksHash.TryParse(name, out var hash))
            {
                throw new DriverOptionException($"Parameter 'ivgen-hash-alg' does not accept value '{name}'");
            }

            ivHash = hash;
        }

        var spec = new LuksCipherSpec { Algorithm = algorithm, KeyBytes = keyBytes, Mode = mode, IvGenerator = ivgen, IvHash = ivHash };
        spec.EnsureEssivCipher(message => new DriverOptionException(message));
        if (mode == LuksCipherMode.Xts && algorithm == LuksCipherAlgorithm.Cast5)
        {
            throw new DriverOptionException("Unsupported cipher mode xts");
        }

        return spec;
    }

    /// <summary>Hash names QEMU knows (its QCryptoHashAlgorithm); a header naming another is refused in its words.</summary>
    private static readonly HashSet<string> s_qemuHashes = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"];

    /// <summary>
    /// Reads the header's cipher name, mode string and key length (and checks its hash spec when given), in QEMU's
    /// order and words for what QEMU refuses.
    /// </summary>
    internal static LuksCipherSpec FromHeader(string cipherName, string cipherMode, uint keyBytes, string? hashSpec = null)
    {
        var dash = cipherMode.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            throw new InvalidImageException($"Unexpected cipher mode string format '{cipherMode}'");
        }

        var chaining = cipherMode[..dash];
        var ivText = cipherMode[(dash + 1)..];
        var colon = ivText.IndexOf(':', StringComparison.Ordinal);
        var ivHashName = colon < 0 ? null : ivText[(colon + 1)..];
        var ivgenName = colon < 0 ? ivText : ivText[..colon];
        if (ivHashName is not null && !s_qemuHashes.Contains(ivHashName))
        {
            throw new InvalidImageException($"Hash algorithm '{ivHashName}' not supported");
        }

        if (chaining is not ("ecb" or "cbc" or "xts" or "ctr"))
        {
            throw new InvalidImageException($"Cipher mode '{chaining}' not supported");
        }

        var cipherKeyBytes = chaining == "xts" ? keyBytes / 2 : keyBytes;
        var knownSize = cipherName switch
        {
            "aes" or "serpent" or "twofish" => cipherKeyBytes is 16 or 24 or 32,
            "cast5" => cipherKeyBytes == 16,
            _ => false,
        };
        if (!knownSize)
        {
            throw new InvalidImageException($"Algorithm '{cipherName}' with key size {(int)cipherKeyBytes} bytes not supported");
        }

        if (hashSpec is not null && !s_qemuHashes.Contains(hashSpec))
        {
            throw new InvalidImageException($"Hash algorithm '{hashSpec}' not supported");
        }

        if (ivgenName is not ("plain" or "plain64" or "essiv"))
        {
            throw new InvalidImageException($"IV generator '{ivgenName}' not supported");
        }

        if (ivgenName == "essiv" && ivHashName is null)
        {
            throw new InvalidImageException("Missing IV generator hash specification");
        }

        if (chaining == "xts" && keyBytes % 2 != 0)
        {
            // QEMU halves the length and would key XTS with a byte missing; refused as corrupt here.
            throw new InvalidImageException($"LUKS key length {keyBytes} does not fit cipher {cipherName}-{cipherMode}");
        }

        var algorithm = cipherName switch
        {
            "twofish" => LuksCipherAlgorithm.Twofish,
            "serpent" => LuksCipherAlgorithm.Serpent,
            "cast5" => LuksCipherAlgorithm.Cast5,
            _ => LuksCipherAlgorithm.Aes,
        };
        var mode = chaining switch
        {
            "xts" => LuksCipherMode.Xts,
            "cbc" => LuksCipherMode.Cbc,
            "ecb" => LuksCipherMode.Ecb,
            _ => LuksCipherMode.Ctr,
        };
        var ivgen = ivgenName switch
        {
            "plain" => LuksIvGenerator.Plain,
            "plain64" => LuksIvGenerator.Plain64,
            _ => LuksIvGenerator.Essiv,
        };
        HashAlgorithmName? ivHash = ivgen == LuksIvGenerator.Essiv ? LuksHash.Parse(ivHashName!) : null;
        var spec = new LuksCipherSpec { Algorithm = algorithm, KeyBytes = (int)cipherKeyBytes, Mode = mode, IvGenerator = ivgen, IvHash = ivHash };
        spec.EnsureEssivCipher(message => new InvalidImageException(message));
        return spec;
    }

    /// <summary>
    /// dm-crypt keys the ESSIV cipher with the whole digest, so the cipher's family must have a key of the digest's
    /// length; refused in QEMU's words otherwise (CAST5 has one key length and takes only a digest of that length).
    /// </summary>
    private void EnsureEssivCipher(Func<string, Exception> error)
    {
        if (IvGenerator != LuksIvGenerator.Essiv)
        {
            return;
        }

        var digest = LuksHash.DigestSize(IvHash!.Value);
        if (digest == KeyBytes || (Algorithm != LuksCipherAlgorithm.Cast5 && digest is 16 or 24 or 32))
        {
            return;
        }

        throw error(Algorithm switch
        {
            LuksCipherAlgorithm.Aes => $"No AES cipher with key size {digest} available",
            LuksCipherAlgorithm.Serpent => $"No Serpent cipher with key size {digest} available",
            LuksCipherAlgorithm.Twofish => $"No Twofish cipher with key size {digest} available",
            _ => $"Cipher {CipherAlgName} not supported with essiv",
        });
    }
}
