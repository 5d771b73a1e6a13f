namespace DiskImage.Crypto;

internal sealed partial record LuksHeader
{
    /// <summary>LUKS1 header layout (all integers big-endian), each offset following the previous field.</summary>
    internal static class FieldOffsets
    {
        public const int Magic = 0;
        public const int Version = Magic + MagicLength;
        public const int CipherName = Version + 2;
        public const int CipherMode = CipherName + NameLength;
        public const int HashSpec = CipherMode + NameLength;
        public const int PayloadOffset = HashSpec + NameLength;
        public const int KeyBytes = PayloadOffset + 4;
        public const int MasterKeyDigest = KeyBytes + 4;
        public const int MasterKeyDigestSalt = MasterKeyDigest + DigestLength;
        public const int MasterKeyDigestIterations = MasterKeyDigestSalt + LuksKeySlot.SaltLength;
        public const int Uuid = MasterKeyDigestIterations + 4;
        public const int KeySlots = Uuid + UuidLength;
    }

    /// <summary>Layout of one key slot record, relative to its start.</summary>
    internal static class KeySlotOffsets
    {
        public const int State = 0;
        public const int Iterations = State + 4;
        public const int Salt = Iterations + 4;
        public const int KeyMaterialOffset = Salt + LuksKeySlot.SaltLength;
        public const int Stripes = KeyMaterialOffset + 4;
        public const int Size = Stripes + 4;
    }
}
