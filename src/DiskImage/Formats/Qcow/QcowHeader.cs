using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow;

/// <summary>The 48-byte big-endian header of a qcow version 1 image, checked the way QEMU checks it.</summary>
internal sealed record QcowHeader
{
    public const int Size = 48;
    public const uint Magic = 0x514649fb; // "QFI\xfb", shared with qcow2
    public const uint Version1 = 1;
    public const uint CryptNone = 0;
    public const uint CryptAes = 1;

    /// <summary>QEMU's limit on the backing file name stored in the image.</summary>
    public const int MaxBackingFileName = 1023;

    public uint Version { get; init; } = Version1;
    public ulong BackingFileOffset { get; init; }
    public uint BackingFileSize { get; init; }
    public uint Mtime { get; init; }
    public required ulong DiskSize { get; init; }
    public required int ClusterBits { get; init; }
    public required int L2Bits { get; init; }
    public uint CryptMethod { get; init; }
    public required ulong L1TableOffset { get; init; }

    public int ClusterSize => 1 << ClusterBits;

    public int L2Entries => 1 << L2Bits;

    /// <summary>L1 entries covering the disk; only meaningful after <see cref="Validate"/>.</summary>
    public long L1Entries => (long)((DiskSize + (1UL << (ClusterBits + L2Bits)) - 1) >> (ClusterBits + L2Bits));

    public static bool HasSignature(ReadOnlySpan<byte> b) =>
        b.Length >= Size && BinaryPrimitives.ReadUInt32BigEndian(b) == Magic && BinaryPrimitives.ReadUInt32BigEndian(b[4..]) == Version1;

    public static QcowHeader Parse(ReadOnlySpan<byte> b) => new()
    {
        Version = BinaryPrimitives.ReadUInt32BigEndian(b[4..]),
        BackingFileOffset = BinaryPrimitives.ReadUInt64BigEndian(b[8..]),
        BackingFileSize = BinaryPrimitives.ReadUInt32BigEndian(b[16..]),
        Mtime = BinaryPrimitives.ReadUInt32BigEndian(b[20..]),
        DiskSize = BinaryPrimitives.ReadUInt64BigEndian(b[24..]),
        ClusterBits = b[32],
        L2Bits = b[33],
        CryptMethod = BinaryPrimitives.ReadUInt32BigEndian(b[36..]),
        L1TableOffset = BinaryPrimitives.ReadUInt64BigEndian(b[40..]),
    };

    public byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteUInt32BigEndian(b, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), Version);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), BackingFileOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(16), BackingFileSize);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(20), Mtime);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(24), DiskSize);
        b[32] = (byte)ClusterBits;
        b[33] = (byte)L2Bits;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(36), CryptMethod);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(40), L1TableOffset);
        return b;
    }

    /// <summary>
    /// Refuses what QEMU refuses, in its order and words. Beyond QEMU, a size or table offset past what a file
    /// offset can hold is refused too, so that no later arithmetic overflows.
    /// </summary>
    public void Validate()
    {
        if (Version != Version1)
        {
            // qemu-img prints QEMU's hint as a second line.
            var hint = Version is 2 or 3 ? "\nTry the 'qcow2' driver instead." : "";
            throw new UnsupportedFeatureException($"qcow (v1) does not support qcow version {Version}{hint}");
        }

        if (DiskSize <= 1)
        {
            throw new InvalidImageException("Image size is too small (must be at least 2 bytes)");
        }

        if (ClusterBits is < 9 or > 16)
        {
            throw new InvalidImageException("Cluster size must be between 512 and 64k");
        }

        // Each L2 entry is 8 bytes: 2^6 to 2^13 entries make tables of 512 bytes to 64 KiB.
        if (L2Bits is < 6 or > 13)
        {
            throw new InvalidImageException("L2 table size must be between 512 and 64k");
        }

        if (CryptMethod is not (CryptNone or CryptAes))
        {
            throw new InvalidImageException("invalid encryption method in qcow header");
        }

        var shift = ClusterBits + L2Bits;
        if (DiskSize > ulong.MaxValue - (1UL << shift) || L1Entries > int.MaxValue / 8)
        {
            throw new InvalidImageException("Image too large");
        }

        if (DiskSize > long.MaxValue)
        {
            throw new InvalidImageException("Image too large");
        }

        if (BackingFileOffset != 0 && BackingFileSize > MaxBackingFileName)
        {
            throw new InvalidImageException("Backing file name too long");
        }
    }

    /// <summary>
    /// Whether the L1 table and backing name lie where a file offset can reach; QEMU's reads of them fail with an I/O
    /// error otherwise.
    /// </summary>
    public bool TablesAreAddressable =>
        L1TableOffset <= (ulong)(long.MaxValue - (L1Entries * 8)) && BackingFileOffset <= long.MaxValue - MaxBackingFileName;
}
