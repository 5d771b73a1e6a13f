using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// Data encryption of a qcow2 image with a LUKS master key: every sector's IV is its <em>host</em>
/// sector number (the file offset / 512), as QEMU does for qcow2.
/// </summary>
internal sealed class LuksEncryption : ISectorEncryption
{
    private readonly SectorCipher _cipher;

    /// <summary>Takes a master key already verified against the header's digest; the caller keeps and zeroes its copy.</summary>
    public LuksEncryption(LuksCipherSpec spec, ReadOnlySpan<byte> masterKey) => _cipher = new SectorCipher(spec, masterKey);

    public int SectorSize => SectorCipher.SectorSize;

    public bool CanEncrypt => true;

    public void Decrypt(long guestOffset, long hostOffset, Span<byte> data) => _cipher.Decrypt(SectorOf(hostOffset, data.Length), data);

    public void Encrypt(long guestOffset, long hostOffset, Span<byte> data) => _cipher.Encrypt(SectorOf(hostOffset, data.Length), data);

    public void Dispose() => _cipher.Dispose();

    /// <summary>Unlocks <paramref name="volume"/> with <paramref name="passphrase"/> and returns its data encryption.</summary>
    public static LuksEncryption Unlock(LuksVolume volume, ReadOnlySpan<byte> passphrase)
    {
        var masterKey = volume.Unlock(passphrase);
        try
        {
            return new LuksEncryption(volume.Header.CipherSpec, masterKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(masterKey);
        }
    }

    internal static long SectorOf(long offset, int length)
    {
        if (offset % SectorCipher.SectorSize != 0 || length % SectorCipher.SectorSize != 0)
        {
            throw new ArgumentException("Encrypted I/O must be in whole 512-byte sectors.");
        }

        return offset / SectorCipher.SectorSize;
    }
}
