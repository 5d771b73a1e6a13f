namespace DiskImage.Crypto;

/// <summary>How a sector's IV is derived from its number (dm-crypt's ivgen names).</summary>
public enum LuksIvGenerator
{
    /// <summary><c>plain</c>: the sector number truncated to 32 bits, little-endian.</summary>
    Plain,

    /// <summary><c>plain64</c>: the 64-bit sector number, little-endian.</summary>
    Plain64,

    /// <summary><c>essiv</c>: plain64 encrypted with a key that is a hash of the data key.</summary>
    Essiv,
}
