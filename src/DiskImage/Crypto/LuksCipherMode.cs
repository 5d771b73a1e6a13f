namespace DiskImage.Crypto;

/// <summary>Block cipher chaining modes LUKS volumes use with AES.</summary>
public enum LuksCipherMode
{
    /// <summary><c>xts</c>: the default; the key holds two AES keys.</summary>
    Xts,

    /// <summary><c>cbc</c>: chaining restarted at every sector with the sector's IV.</summary>
    Cbc,
}
