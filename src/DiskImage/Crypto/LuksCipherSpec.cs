using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// What a LUKS volume encrypts with: AES key size, chaining mode, IV generator (and its hash for ESSIV).
/// Converts between QEMU's option names (<c>aes-256</c>, <c>xts</c>, <c>plain64</c>) and the LUKS header
/// strings (<c>aes</c>, <c>xts-plain64</c>, <c>cbc-essiv:sha256</c>).
/// </summary>
public sealed record LuksCipherSpec
{
    /// <summary>QEMU's default: aes-256 xts-plain64.</summary>
    public static LuksCipherSpec Default { get; } = new() { AesKeyBytes = 32, Mode = LuksCipherMode.Xts, IvGenerator = LuksIvGenerator.Plain64 };

    /// <summary>Bytes of one AES key: 16, 24 or 32.</summary>
    public int AesKeyBytes { get; init; } = 32;

    /// <summary>Block cipher mode (<c>encrypt.cipher-mode</c>).</summary>
    public LuksCipherMode Mode { get; init; } = LuksCipherMode.Xts;

    /// <summary>How each sector's IV is made (<c>encrypt.ivgen-alg</c>).</summary>
    public LuksIvGenerator IvGenerator { get; init; } = LuksIvGenerator.Plain64;

    /// <summary>The hash whose digest keys the ESSIV cipher; only with <see cref="LuksIvGenerator.Essiv"/>.</summary>
    public HashAlgorithmName? IvHash { get; init; }

    /// <summary>Length of the volume (master) key: two AES keys for XTS.</summary>
    public int MasterKeyBytes => Mode == LuksCipherMode.Xts ? AesKeyBytes * 2 : AesKeyBytes;

    /// <summary>QEMU's <c>cipher-alg</c>: aes-128, aes-192 or aes-256.</summary>
    public string CipherAlgName => $"aes-{AesKeyBytes * 8}";

    /// <summary>QEMU's <c>cipher-mode</c>.</summary>
    public string CipherModeName => Mode == LuksCipherMode.Xts ? "xts" : "cbc";

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

    /// <summary>Builds a spec from QEMU's create options; null arguments take QEMU's defaults.</summary>
    public static LuksCipherSpec FromOptions(string? cipherAlg, string? cipherMode, string? ivgenAlg, string? ivgenHashAlg)
    {
        var keyBytes = (cipherAlg ?? "aes-256") switch
        {
            "aes-128" => 16,
            "aes-192" => 24,
            "aes-256" => 32,
            var other => throw new InvalidOptionException($"Invalid parameter '{other}' for encrypt.cipher-alg (only aes-128, aes-192 and aes-256 are supported)"),
        };
        var mode = (cipherMode ?? "xts") switch
        {
            "xts" => LuksCipherMode.Xts,
            "cbc" => LuksCipherMode.Cbc,
            var other => throw new InvalidOptionException($"Invalid parameter '{other}' for encrypt.cipher-mode (only xts and cbc are supported)"),
        };
        var ivgen = (ivgenAlg ?? "plain64") switch
        {
            "plain" => LuksIvGenerator.Plain,
            "plain64" => LuksIvGenerator.Plain64,
            "essiv" => LuksIvGenerator.Essiv,
            var other => throw new InvalidOptionException($"Invalid parameter '{other}' for encrypt.ivgen-alg"),
        };
        HashAlgorithmName? ivHash = null;
        if (ivgen == LuksIvGenerator.Essiv)
        {
            var name = ivgenHashAlg ?? "sha256";
            if (!LuksHash.TryParse(name, out var hash))
            {
                throw new InvalidOptionException($"Invalid parameter '{name}' for encrypt.ivgen-hash-alg");
            }

            ivHash = hash;
        }

        var spec = new LuksCipherSpec { AesKeyBytes = keyBytes, Mode = mode, IvGenerator = ivgen, IvHash = ivHash };
        spec.EnsureEssivKeyFits();
        return spec;
    }

    /// <summary>Hash names QEMU knows (its QCryptoHashAlgorithm); a header naming another is refused in its words.</summary>
    private static readonly HashSet<string> s_qemuHashes = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"];

    /// <summary>
    /// Reads the header's cipher name, mode string and key length (and checks its hash spec when given), in QEMU's
    /// order and words for what QEMU refuses; what QEMU reads but this library cannot (other ciphers, modes and
    /// hashes) is refused as unsupported.
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

        var aesKeyBytes = chaining == "xts" ? keyBytes / 2 : keyBytes;
        var knownSize = cipherName switch
        {
            "aes" or "serpent" or "twofish" => aesKeyBytes is 16 or 24 or 32,
            "cast5" => aesKeyBytes == 16,
            _ => false,
        };
        if (!knownSize)
        {
            throw new InvalidImageException($"Algorithm '{cipherName}' with key size {(int)aesKeyBytes} bytes not supported");
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
            throw new InvalidImageException($"LUKS key length {keyBytes} does not fit cipher aes-{cipherMode}");
        }

        // Everything QEMU accepts from here on; what this library does not implement is refused by name.
        if (cipherName != "aes")
        {
            throw new UnsupportedFeatureException($"Unsupported LUKS cipher '{cipherName}' (only aes is supported)");
        }

        var mode = chaining switch
        {
            "xts" => LuksCipherMode.Xts,
            "cbc" => LuksCipherMode.Cbc,
            _ => throw new UnsupportedFeatureException($"Unsupported LUKS cipher mode '{cipherMode}'"),
        };
        if (hashSpec is not null)
        {
            _ = LuksHash.Parse(hashSpec);
        }

        var ivgen = ivgenName switch
        {
            "plain" => LuksIvGenerator.Plain,
            "plain64" => LuksIvGenerator.Plain64,
            _ => LuksIvGenerator.Essiv,
        };
        HashAlgorithmName? ivHash = ivgen == LuksIvGenerator.Essiv ? LuksHash.Parse(ivHashName!) : null;
        if (ivgen == LuksIvGenerator.Essiv && LuksHash.DigestSize(ivHash!.Value) is not (16 or 24 or 32) and var digest)
        {
            throw new InvalidImageException($"No AES cipher with key size {digest} available");
        }

        var spec = new LuksCipherSpec { AesKeyBytes = (int)aesKeyBytes, Mode = mode, IvGenerator = ivgen, IvHash = ivHash };
        spec.EnsureEssivKeyFits();
        return spec;
    }

    private void EnsureEssivKeyFits()
    {
        // The ESSIV cipher is AES keyed with the hash digest, so the digest must be an AES key length.
        if (IvGenerator == LuksIvGenerator.Essiv && LuksHash.DigestSize(IvHash!.Value) is not (16 or 24 or 32))
        {
            throw new UnsupportedFeatureException($"ESSIV with hash {LuksHash.NameOf(IvHash.Value)} gives no valid AES key size");
        }
    }
}
