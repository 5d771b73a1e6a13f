using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>The hash algorithms LUKS headers name (hash spec, ESSIV hash), as QEMU spells them.</summary>
internal static class LuksHash
{
    /// <summary>Maps a LUKS/QEMU hash name to the BCL's; throws <see cref="UnsupportedFeatureException"/> for others.</summary>
    public static HashAlgorithmName Parse(string name) => TryParse(name, out var hash)
        ? hash
        : throw new UnsupportedFeatureException($"Unsupported hash algorithm '{name}'");

    public static bool TryParse(string name, out HashAlgorithmName hash)
    {
        hash = name switch
        {
            "sha1" => HashAlgorithmName.SHA1,
            "sha256" => HashAlgorithmName.SHA256,
            "sha384" => HashAlgorithmName.SHA384,
            "sha512" => HashAlgorithmName.SHA512,
            _ => default,
        };
        return hash.Name is not null;
    }

    /// <summary>The name QEMU and LUKS headers use.</summary>
    public static string NameOf(HashAlgorithmName hash) => hash.Name switch
    {
        "SHA1" => "sha1",
        "SHA256" => "sha256",
        "SHA384" => "sha384",
        "SHA512" => "sha512",
        _ => throw new ArgumentOutOfRangeException(nameof(hash)),
    };

    /// <summary>Digest length in bytes.</summary>
    public static int DigestSize(HashAlgorithmName hash) => hash.Name switch
    {
        "SHA1" => 20,
        "SHA256" => 32,
        "SHA384" => 48,
        "SHA512" => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(hash)),
    };
}
