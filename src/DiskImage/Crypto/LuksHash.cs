using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace DiskImage.Crypto;

/// <summary>
/// The hash algorithms LUKS headers name (hash spec, ESSIV hash), as QEMU spells them: md5, sha1, sha224, sha256,
/// sha384, sha512 and ripemd160. SHA-1 and SHA-2 (but SHA-224) run on the BCL; the others on BouncyCastle's digests,
/// with PBKDF2 written here for them (the BCL's PBKDF2 takes only SHA-1 and SHA-2).
/// </summary>
internal static class LuksHash
{
    /// <summary>The longest digest (SHA-512).</summary>
    public const int MaxDigestSize = 64;

    public static readonly HashAlgorithmName Sha224 = new("SHA224");
    public static readonly HashAlgorithmName Ripemd160 = new("RIPEMD160");

    /// <summary>Maps a LUKS/QEMU hash name to a <see cref="HashAlgorithmName"/>; throws <see cref="UnsupportedFeatureException"/> for others.</summary>
    public static HashAlgorithmName Parse(string name) => TryParse(name, out var hash)
        ? hash
        : throw new UnsupportedFeatureException($"Unsupported hash algorithm '{name}'");

    public static bool TryParse(string name, out HashAlgorithmName hash)
    {
        hash = name switch
        {
            "md5" => HashAlgorithmName.MD5,
            "sha1" => HashAlgorithmName.SHA1,
            "sha224" => Sha224,
            "sha256" => HashAlgorithmName.SHA256,
            "sha384" => HashAlgorithmName.SHA384,
            "sha512" => HashAlgorithmName.SHA512,
            "ripemd160" => Ripemd160,
            _ => default,
        };
        return hash.Name is not null;
    }

    /// <summary>The name QEMU and LUKS headers use.</summary>
    public static string NameOf(HashAlgorithmName hash) => hash.Name switch
    {
        "MD5" => "md5",
        "SHA1" => "sha1",
        "SHA224" => "sha224",
        "SHA256" => "sha256",
        "SHA384" => "sha384",
        "SHA512" => "sha512",
        "RIPEMD160" => "ripemd160",
        _ => throw new ArgumentOutOfRangeException(nameof(hash)),
    };

    /// <summary>Digest length in bytes.</summary>
    public static int DigestSize(HashAlgorithmName hash) => hash.Name switch
    {
        "MD5" => 16,
        "SHA1" => 20,
        "SHA224" => 28,
        "SHA256" => 32,
        "SHA384" => 48,
        "SHA512" => 64,
        "RIPEMD160" => 20,
        _ => throw new ArgumentOutOfRangeException(nameof(hash)),
    };

    /// <summary>Hashes <paramref name="data"/> into <paramref name="destination"/> (at least the digest size); returns the digest size.</summary>
    public static int HashData(HashAlgorithmName hash, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (OnBcl(hash))
        {
            return CryptographicOperations.HashData(hash, data, destination);
        }

        var digest = CreateDigest(hash);
        digest.BlockUpdate(data);
        return digest.DoFinal(destination);
    }

    /// <summary>PBKDF2 (RFC 8018) with HMAC over <paramref name="hash"/>, filling <paramref name="destination"/>.</summary>
    public static void Pbkdf2(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, Span<byte> destination, int iterations, HashAlgorithmName hash)
    {
        if (OnBcl(hash))
        {
            Rfc2898DeriveBytes.Pbkdf2(password, salt, destination, iterations, hash);
            return;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var mac = new HMac(CreateDigest(hash));
        var key = password.ToArray();
        try
        {
            mac.Init(new KeyParameter(key));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        var size = mac.GetMacSize();
        Span<byte> u = stackalloc byte[MaxDigestSize];
        Span<byte> t = stackalloc byte[MaxDigestSize];
        Span<byte> index = stackalloc byte[4];
        for (uint block = 1; (block - 1) * (long)size < destination.Length; block++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(index, block);
            mac.BlockUpdate(salt);
            mac.BlockUpdate(index);
            mac.DoFinal(u);
            u[..size].CopyTo(t);
            for (var i = 1; i < iterations; i++)
            {
                mac.BlockUpdate(u[..size]);
                mac.DoFinal(u);
                XtsCipher.Xor(t[..size], u[..size]);
            }

            var offset = (int)((block - 1) * size);
            var take = Math.Min(size, destination.Length - offset);
            t[..take].CopyTo(destination[offset..]);
        }

        CryptographicOperations.ZeroMemory(u);
        CryptographicOperations.ZeroMemory(t);
    }

    private static bool OnBcl(HashAlgorithmName hash) => hash.Name is "SHA1" or "SHA256" or "SHA384" or "SHA512";

    private static IDigest CreateDigest(HashAlgorithmName hash) => hash.Name switch
    {
        "MD5" => new MD5Digest(),
        "SHA224" => new Sha224Digest(),
        "RIPEMD160" => new RipeMD160Digest(),
        _ => throw new ArgumentOutOfRangeException(nameof(hash)),
    };
}
