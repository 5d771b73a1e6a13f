namespace DiskImage.Formats.Qcow2;

/// <summary>Numbers fixed by the qcow2 specification and the limits QEMU enforces on them.</summary>
internal static class Qcow2Constants
{
    public const uint Magic = 0x514649FB;
    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;
    public const int Version2HeaderLength = 72;
    public const int Version3MinHeaderLength = 104;
    public const int Version3HeaderLength = 112;
    public const int MaxBackingFileNameLength = 1023;

    /// <summary>QCOW_MAX_L1_SIZE: 32 MiB of L1 entries, for the active and every snapshot L1 table.</summary>
    public const long MaxL1Bytes = 32L << 20;

    /// <summary>QCOW_MAX_REFTABLE_SIZE: 8 MiB of refcount table.</summary>
    public const long MaxRefcountTableBytes = 8L << 20;

    public const int MaxSnapshots = 65536;
    public const int SnapshotHeaderSize = 40;
    public const long MaxSnapshotTableBytes = 64L << 20;
    public const int MaxSnapshotExtraData = 1024;

    /// <summary>Host offsets are 56-bit.</summary>
    public const long MaxHostOffset = 1L << 56;

    public const ulong IncompatibleDirty = 1UL << 0;
    public const ulong IncompatibleCorrupt = 1UL << 1;
    public const ulong IncompatibleDataFile = 1UL << 2;
    public const ulong IncompatibleCompressionType = 1UL << 3;
    public const ulong IncompatibleExtendedL2 = 1UL << 4;
    public const ulong IncompatibleKnownMask = 0x1F;

    public const ulong CompatibleLazyRefcounts = 1UL << 0;

    public const ulong AutoclearBitmaps = 1UL << 0;
    public const ulong AutoclearDataFileRaw = 1UL << 1;

    public const ulong L1OffsetMask = 0x00fffffffffffe00UL;
    public const ulong L2OffsetMask = 0x00fffffffffffe00UL;
    public const ulong RefcountTableOffsetMask = 0xfffffffffffffe00UL;
    public const ulong FlagCopied = 1UL << 63;
    public const ulong FlagCompressed = 1UL << 62;
    public const ulong FlagZero = 1UL;

    public const int SubclustersPerCluster = 32;
    public const ulong SubclusterAllocMask = 0xFFFFFFFFUL;

    public const uint ExtensionEnd = 0;
    public const uint ExtensionBackingFormat = 0xE2792ACA;
    public const uint ExtensionFeatureTable = 0x6803F857;
    public const uint ExtensionBitmaps = 0x23852875;
    public const uint ExtensionCryptoHeader = 0x0537BE77;
    public const uint ExtensionDataFile = 0x44415441;

    public const int CryptNone = 0;
    public const int CryptAes = 1;
    public const int CryptLuks = 2;
}
