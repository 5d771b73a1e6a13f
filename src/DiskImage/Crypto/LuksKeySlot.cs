namespace DiskImage.Crypto;

/// <summary>One of a LUKS1 header's eight key slots: where a passphrase-wrapped copy of the master key lives.</summary>
internal sealed record LuksKeySlot
{
    public const uint ActiveMarker = 0x00AC71F3;
    public const uint InactiveMarker = 0x0000DEAD;
    public const int SaltLength = 32;

    public bool Active { get; init; }

    /// <summary>PBKDF2 iterations turning the passphrase into the slot key (0 when inactive).</summary>
    public uint Iterations { get; init; }

    /// <summary>PBKDF2 salt, <see cref="SaltLength"/> bytes (zeros when inactive).</summary>
    public byte[] Salt { get; init; } = new byte[SaltLength];

    /// <summary>Start of the encrypted, split key material in 512-byte sectors from the LUKS header.</summary>
    public uint KeyMaterialOffsetSectors { get; init; }

    /// <summary>Anti-forensic stripes: the key material is key bytes × stripes long.</summary>
    public uint Stripes { get; init; }

    /// <summary>An inactive slot at the same place, as QEMU leaves an erased or never-used slot.</summary>
    public LuksKeySlot Deactivated() => this with { Active = false, Iterations = 0, Salt = new byte[SaltLength] };
}
