namespace DiskImage.Crypto;

/// <summary>
/// Encrypts and decrypts image data in place, one 512-byte sector at a time. An image format calls it
/// for every data cluster it reads or writes (never for metadata). Decryption gets both offsets because
/// the IV depends on one of them: LUKS in qcow2 uses the host offset, legacy qcow AES the guest offset.
/// Encryption gets both offsets for the same reason.
/// Implementations are thread-safe.
/// </summary>
public interface ISectorEncryption : IDisposable
{
    /// <summary>The unit of encryption (512); offsets and lengths handed over are multiples of it.</summary>
    int SectorSize { get; }

    /// <summary>Whether <see cref="Encrypt"/> is allowed (false for schemes that are only read).</summary>
    bool CanEncrypt { get; }

    /// <summary>Decrypts <paramref name="data"/>, read from <paramref name="hostOffset"/> and seen by the guest at <paramref name="guestOffset"/>.</summary>
    void Decrypt(long guestOffset, long hostOffset, Span<byte> data);

    /// <summary>
    /// Encrypts <paramref name="data"/> about to be written to <paramref name="hostOffset"/> and seen by the guest at
    /// <paramref name="guestOffset"/>; only when <see cref="CanEncrypt"/>.
    /// </summary>
    void Encrypt(long guestOffset, long hostOffset, Span<byte> data);
}
