using DiskImage.Crypto;

namespace DiskImage.Formats.Luks;

/// <summary>Options for creating a standalone LUKS image (<c>qemu-img create -f luks</c>).</summary>
public sealed record LuksImageCreateOptions : ImageCreateOptions
{
    /// <summary>Cipher, hash, PBKDF2 time and the secret (<c>key-secret</c>) holding the passphrase of key slot 0.</summary>
    public LuksCreateOptions Encryption { get; init; } = new();

    /// <summary>How the payload is allocated: <c>off</c>, <c>falloc</c> or <c>full</c> (<c>metadata</c> means off, as in QEMU).</summary>
    public Preallocation Preallocation { get; init; } = Preallocation.Off;
}
