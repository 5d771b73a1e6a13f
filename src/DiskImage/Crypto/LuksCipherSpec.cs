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

    /// <summary>
    /// Reads the header's cipher name, mode string and key length. Anything else than AES with a
    /// matching key length is refused (unsupported ciphers by name, impossible lengths as corrupt).
    /// </summary>
    internal static LuksCipherSpec FromHeader(string cipherName, string cipherMode, uint keyBytes)
    {
        if (cipherName != "aes")
        {
            throw new UnsupportedFeatureException($"Unsupported LUKS cipher '{cipherName}' (only aes is supported)");
        }

        var dash = cipherMode.IndexOf('-', StringComparison.Ordinal);
        var chaining = dash < 0 ? cipherMode : cipherMode[..dash];
        var ivText = dash < 0 ? "" : cipherMode[(dash + 1)..];
        var mode = chaining switch
        {
            "xts" => LuksCipherMode.Xts,
            "cbc" => LuksCipherMode.Cbc,
            _ => throw new UnsupportedFeatureException($"Unsupported LUKS cipher mode '{cipherMode}'"),
        };
        LuksIvGenerator ivgen;
        HashAlgorithmName? ivHash = null;
        if (ivText == "plain")
        {
            ivgen = LuksIvGenerator.Plain;
        }
        else if (ivText == "plain64")
        {
            ivgen = LuksIvGenerator.Plain64;
        }
        else if (ivText.StartsWith("essiv:", StringComparison.Ordinal))
        {
            ivgen = LuksIvGenerator.Essiv;
            ivHash = LuksHash.Parse(ivText["essiv:".Length..]);
        }
        else
        {
            throw new UnsupportedFeatureException($"Unsupported LUKS cipher mode '{cipherMode}'");
        }

        var aesKeyBytes = mode == LuksCipherMode.Xts ? keyBytes / 2 : keyBytes;
        if (aesKeyBytes is not (16 or 24 or 32) || (mode == LuksCipherMode.Xts && keyBytes % 2 != 0))
        {
            throw new InvalidImageException($"LUKS key length {keyBytes} does not fit cipher aes-{cipherMode}");
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
