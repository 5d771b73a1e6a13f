using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// qcow's original encryption (crypt_method 1): AES-128-CBC whose key is the first 16 bytes of the passphrase,
/// zero-padded, and whose IV is the <em>guest</em> sector number (plain64). It is weak (no key derivation,
/// predictable IVs); QEMU's system emulators refuse it, but qemu-img and qemu-io still read and write it, and so
/// does this library, so that scripts converting such images away from it keep working.
/// </summary>
internal sealed class LegacyAesEncryption : ISectorEncryption
{
    private static readonly LuksCipherSpec s_spec = new() { KeyBytes = 16, Mode = LuksCipherMode.Cbc, IvGenerator = LuksIvGenerator.Plain64 };
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

    public bool CanEncrypt => true;

    public void Decrypt(long guestOffset, long hostOffset, Span<byte> data) => _cipher.Decrypt(LuksEncryption.SectorOf(guestOffset, data.Length), data);

    public void Encrypt(long guestOffset, long hostOffset, Span<byte> data) => _cipher.Encrypt(LuksEncryption.SectorOf(guestOffset, data.Length), data);

    public void Dispose() => _cipher.Dispose();
}
