namespace DiskImage.Crypto;

/// <summary>
/// The <c>encrypt</c> object of qcow2's <c>format-specific</c> data in <c>qemu-img info</c>. Only
/// <see cref="Format"/> is set for legacy AES; LUKS fills the rest from its header.
/// </summary>
public sealed record EncryptionInfo
{
    /// <summary><c>format</c>: "luks" or "aes".</summary>
    public required string Format { get; init; }

    /// <summary><c>cipher-alg</c>, e.g. "aes-256".</summary>
    public string? CipherAlg { get; init; }

    /// <summary><c>cipher-mode</c>, e.g. "xts".</summary>
    public string? CipherMode { get; init; }

    /// <summary><c>ivgen-alg</c>, e.g. "plain64".</summary>
    public string? IvgenAlg { get; init; }

    /// <summary><c>ivgen-hash-alg</c>, only with ESSIV.</summary>
    public string? IvgenHashAlg { get; init; }

    /// <summary><c>hash-alg</c>, e.g. "sha256".</summary>
    public string? HashAlg { get; init; }

    /// <summary><c>uuid</c>.</summary>
    public string? Uuid { get; init; }

    /// <summary><c>payload-offset</c> in bytes.</summary>
    public long? PayloadOffset { get; init; }

    /// <summary><c>master-key-iters</c>.</summary>
    public long? MasterKeyIters { get; init; }

    /// <summary><c>slots</c>: the eight key slots.</summary>
    public IReadOnlyList<EncryptionSlotInfo> Slots { get; init; } = [];

    /// <summary>What info shows for a LUKS header.</summary>
    internal static EncryptionInfo FromLuks(LuksHeader header)
    {
        var spec = header.CipherSpec;
        return new EncryptionInfo
        {
            Format = "luks",
            CipherAlg = spec.CipherAlgName,
            CipherMode = spec.CipherModeName,
            IvgenAlg = spec.IvGeneratorName,
            IvgenHashAlg = spec.IvHash is { } ivHash ? LuksHash.NameOf(ivHash) : null,
            HashAlg = header.HashSpec,
            Uuid = header.Uuid,
            PayloadOffset = (long)header.PayloadOffsetSectors * SectorCipher.SectorSize,
            MasterKeyIters = header.MasterKeyDigestIterations,
            Slots = [.. header.KeySlots.Select(s => new EncryptionSlotInfo
            {
                Active = s.Active,
                Iters = s.Active ? s.Iterations : null,
                KeyOffset = (long)s.KeyMaterialOffsetSectors * SectorCipher.SectorSize,
                Stripes = s.Active ? s.Stripes : null,
            })],
        };
    }
}

/// <summary>One entry of <c>encrypt.slots</c>: <c>active</c>, and for active slots <c>iters</c> and <c>stripes</c>.</summary>
public sealed record EncryptionSlotInfo
{
    /// <summary>Whether the key slot holds a key.</summary>
    public required bool Active { get; init; }
    /// <summary>PBKDF2 iterations of an active slot; null for an inactive one.</summary>
    public long? Iters { get; init; }
    /// <summary>Byte offset of the slot's key material in the LUKS header area.</summary>
    public required long KeyOffset { get; init; }
    /// <summary>Anti-forensic stripes of an active slot; null for an inactive one.</summary>
    public long? Stripes { get; init; }
}
