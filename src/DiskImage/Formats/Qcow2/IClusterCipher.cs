namespace DiskImage.Formats.Qcow2;

/// <summary>
/// A per-cluster transform applied exactly where data clusters meet the host file (encryption).
/// Offsets are host offsets: LUKS derives its IV from them.
/// </summary>
public interface IClusterCipher
{
    /// <summary>Decrypts data read from <paramref name="hostOffset"/> in place; the span is a whole number of 512-byte sectors.</summary>
    void Decrypt(long hostOffset, Span<byte> data);

    /// <summary>Encrypts data about to be written at <paramref name="hostOffset"/> in place.</summary>
    void Encrypt(long hostOffset, Span<byte> data);
}
