namespace DiskImage.Crypto;

/// <summary>The block ciphers a LUKS1 header can name (its <c>cipher-name</c> field) that QEMU 7.2 opens.</summary>
public enum LuksCipherAlgorithm
{
    /// <summary><c>aes</c>: 128-bit blocks, 16, 24 or 32-byte keys.</summary>
    Aes,

    /// <summary><c>twofish</c>: 128-bit blocks, 16, 24 or 32-byte keys.</summary>
    Twofish,

    /// <summary><c>serpent</c>: 128-bit blocks, 16, 24 or 32-byte keys.</summary>
    Serpent,

    /// <summary><c>cast5</c> (CAST-128): 64-bit blocks, a 16-byte key.</summary>
    Cast5,
}
