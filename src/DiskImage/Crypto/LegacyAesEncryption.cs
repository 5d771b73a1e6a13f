using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// qcow's original encryption (crypt_method 1), read only: AES-128-CBC whose key is the first 16
/// bytes of the passphrase, zero-padded, and whose IV is the <em>guest</em> sector number (plain64).
/// It is weak (no key derivation, predictable IVs); QEMU only keeps it for reading old images.
/// </summary>
internal sealed class LegacyAesEncryption : ISectorEncryption
{
    private static readonly LuksCipherSpec s_spec = new() { AesKeyBytes = 16, Mode = LuksCipherMode.Cbc, IvGenerator = LuksIvGenerator.Plain64 };
    private readonly SectorCipher _cipher;

    public LegacyAesEncryption(ReadOnlySpan<byte> passphrase)
    {
        Span<byte> key = stackalloc byte[16];
        key.Clear();
        passphrase[..Math.Min(16, passphrase.Length)].CopyTo(key);
        _cipher = new SectorCipher(s_spec, key);
        CryptographicOperations.ZeroMemory(key);
    }

    public int SectorSize => SectorCipher.SectorSize;

    public bool CanEncrypt => false;

    public void Decrypt(long guestOffset, long hostOffset, Span<byte> data) => _cipher.Decrypt(LuksEncryption.SectorOf(guestOffset, data.Length), data);

    public void Encrypt(long hostOffset, Span<byte> data) =>
        throw new UnsupportedFeatureException("Writing to AES encrypted qcow2 images is not supported; convert the image to LUKS encryption");

    public void Dispose() => _cipher.Dispose();
}
