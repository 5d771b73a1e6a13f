namespace DiskImage.Formats.Vmdk;

/// <summary>Magic numbers, flags and fixed sizes of the VMDK formats (hosted sparse, ESX COWD, seSparse).</summary>
internal static class VmdkConstants
{
    /// <summary>"KDMV" read as a big-endian word: the hosted sparse extent (VMDK4) header.</summary>
    public const uint SparseMagic = 0x4B444D56;

    /// <summary>"COWD": the ESX vmfsSparse extent (VMDK3) header.</summary>
    public const uint CowdMagic = 0x434F5744;

    public const ulong SeSparseConstMagic = 0xcafebabe;
    public const ulong SeSparseVolatileMagic = 0xcafecafe;
    public const ulong SeSparseVersion = 0x0000000200000001;

    public const uint FlagNewlineDetect = 1 << 0;
    public const uint FlagRedundantGrainTable = 1 << 1;
    public const uint FlagZeroGrain = 1 << 2;
    public const uint FlagCompressed = 1 << 16;
    public const uint FlagMarkers = 1 << 17;

    public const ushort CompressionDeflate = 1;

    /// <summary>The grain directory offset of a stream whose real header is the footer at the end.</summary>
    public const ulong GrainDirectoryAtEnd = ulong.MaxValue;

    /// <summary>A grain table entry meaning "reads as zeroes" when the zeroed-grain flag is set.</summary>
    public const uint ZeroedGrainEntry = 1;

    public const int SectorSize = 512;

    /// <summary>How many bytes of a descriptor are looked at (QEMU reads at most 1 MiB - 1).</summary>
    public const int MaxDescriptorBytes = (1 << 20) - 1;

    /// <summary>The window QEMU searches for CID lines: 20 sectors from the descriptor's start.</summary>
    public const int CidWindowBytes = 20 * SectorSize;

    /// <summary>QEMU refuses grains above 1 GiB (0x200000 sectors).</summary>
    public const long MaxGrainSectors = 0x200000;

    /// <summary>QEMU refuses grain directories above 32 Mi entries.</summary>
    public const long MaxGrainDirectoryEntries = 32 * 1024 * 1024;

    /// <summary>Grain tables above 512 entries are refused (hosted sparse).</summary>
    public const int MaxGrainTableEntries = 512;

    /// <summary>An extent addresses at most 2^32 sectors of its file through 32-bit grain table entries.</summary>
    public const long MaxExtentSectors = 1L << 32;

    /// <summary>Split subformats put at most 2 GiB in each extent file.</summary>
    public const long SplitExtentBytes = 0x80000000;

    /// <summary>The parent CID of an image without a parent.</summary>
    public const uint NoParentCid = 0xffffffff;

    /// <summary>Bytes of a grain marker before the compressed data: LBA (8) and size (4).</summary>
    public const int GrainMarkerHeaderSize = 12;

    public const int MarkerEndOfStream = 0;
    public const int MarkerGrainTable = 1;
    public const int MarkerGrainDirectory = 2;
    public const int MarkerFooter = 3;
}
