namespace DiskImage.Crypto;

/// <summary>Block cipher chaining modes of LUKS volumes (QEMU's <c>cipher-mode</c>).</summary>
public enum LuksCipherMode
{
    /// <summary><c>xts</c>: the default; the key holds two cipher keys. Only for 128-bit block ciphers.</summary>
    Xts,

    /// <summary><c>cbc</c>: chaining restarted at every sector with the sector's IV.</summary>
    Cbc,

    /// <summary><c>ecb</c>: every block on its own; the IV generator is named in the header but unused.</summary>
    Ecb,

    /// <summary><c>ctr</c>: a keystream from the sector's IV taken as a big-endian block counter.</summary>
    Ctr,
}
