using System.Buffers.Binary;

namespace DiskImage.Formats.Vdi;

/// <summary>The 512-byte VirtualBox VDI header (version 1.1, little-endian) as QEMU reads and writes it.</summary>
internal sealed record VdiHeader
{
    public const int Size = 512;
    public const uint Signature = 0xbeda107f;
    public const uint Version11 = 0x00010001;
    public const uint TypeDynamic = 1;
    public const uint TypeStatic = 2;
    public const int BlockSize = 1 << 20;

    /// <summary>QEMU's limit on blocks (its block map must stay below 2 GiB of memory): 512 TiB of disk.</summary>
    public const uint MaxBlocks = 536870784;

    public const int BlocksAllocatedOffset = 0x184;

    private const string Text = "<<< QEMU VM Virtual Disk Image >>>\n";

    public required uint ImageType { get; init; }
    public uint Version { get; init; } = Version11;
    public required uint OffsetBmap { get; init; }
    public required uint OffsetData { get; init; }
    public uint SectorSize { get; init; } = 512;
    public required ulong DiskSize { get; init; }
    public uint BlockSizeField { get; init; } = BlockSize;
    public required uint BlocksInImage { get; init; }
    public required uint BlocksAllocated { get; init; }
    public Guid UuidImage { get; init; }
    public Guid UuidLastSnap { get; init; }
    public Guid UuidLink { get; init; }
    public Guid UuidParent { get; init; }

    public static bool HasSignature(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= 0x44 && BinaryPrimitives.ReadUInt32LittleEndian(bytes[0x40..]) == Signature;

    public static VdiHeader Parse(ReadOnlySpan<byte> b) => new()
    {
        Version = BinaryPrimitives.ReadUInt32LittleEndian(b[0x44..]),
        ImageType = BinaryPrimitives.ReadUInt32LittleEndian(b[0x4C..]),
        OffsetBmap = BinaryPrimitives.ReadUInt32LittleEndian(b[0x154..]),
        OffsetData = BinaryPrimitives.ReadUInt32LittleEndian(b[0x158..]),
        SectorSize = BinaryPrimitives.ReadUInt32LittleEndian(b[0x168..]),
        DiskSize = BinaryPrimitives.ReadUInt64LittleEndian(b[0x170..]),
        BlockSizeField = BinaryPrimitives.ReadUInt32LittleEndian(b[0x178..]),
        BlocksInImage = BinaryPrimitives.ReadUInt32LittleEndian(b[0x180..]),
        BlocksAllocated = BinaryPrimitives.ReadUInt32LittleEndian(b[BlocksAllocatedOffset..]),
        UuidImage = new Guid(b.Slice(0x188, 16)),
        UuidLastSnap = new Guid(b.Slice(0x198, 16)),
        UuidLink = new Guid(b.Slice(0x1A8, 16)),
        UuidParent = new Guid(b.Slice(0x1B8, 16)),
    };

    public byte[] ToBytes()
    {
        var b = new byte[Size];
        System.Text.Encoding.ASCII.GetBytes(Text, b);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x40), Signature);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x44), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x48), 0x180);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x4C), ImageType);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x154), OffsetBmap);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x158), OffsetData);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x168), SectorSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(0x170), DiskSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x178), BlockSizeField);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x180), BlocksInImage);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(BlocksAllocatedOffset), BlocksAllocated);
        UuidImage.TryWriteBytes(b.AsSpan(0x188, 16));
        UuidLastSnap.TryWriteBytes(b.AsSpan(0x198, 16));
        UuidLink.TryWriteBytes(b.AsSpan(0x1A8, 16));
        UuidParent.TryWriteBytes(b.AsSpan(0x1B8, 16));
        return b;
    }

    /// <summary>QEMU's first check, made before the signature's, on the size as written (before rounding to sectors).</summary>
    public void ValidateSize()
    {
        if (DiskSize > (ulong)MaxBlocks * BlockSize)
        {
            throw new InvalidImageException($"Unsupported VDI image size (size is 0x{DiskSize:x}, max supported is 0x{(ulong)MaxBlocks * BlockSize:x})");
        }
    }

    /// <summary>Refuses what QEMU refuses, in its words.</summary>
    public void Validate()
    {
        ValidateSize();

        if (Version != Version11)
        {
            throw new InvalidImageException($"unsupported VDI image (version {Version >> 16}.{Version & 0xffff})");
        }

        if (OffsetBmap % 512 != 0)
        {
            throw new InvalidImageException($"unsupported VDI image (unaligned block map offset 0x{OffsetBmap:x})");
        }

        if (OffsetData % 512 != 0)
        {
            throw new InvalidImageException($"unsupported VDI image (unaligned data offset 0x{OffsetData:x})");
        }

        if (SectorSize != 512)
        {
            throw new InvalidImageException($"unsupported VDI image (sector size {SectorSize} is not 512)");
        }

        if (BlockSizeField != BlockSize)
        {
            throw new InvalidImageException($"unsupported VDI image (block size {BlockSizeField} is not {BlockSize})");
        }

        if (RoundedDiskSize > (ulong)BlocksInImage * BlockSize)
        {
            throw new InvalidImageException($"unsupported VDI image (disk size {RoundedDiskSize}, image bitmap has room for {(ulong)BlocksInImage * BlockSize})");
        }

        if (UuidLink != Guid.Empty)
        {
            throw new InvalidImageException("unsupported VDI image (non-NULL link UUID)");
        }

        if (UuidParent != Guid.Empty)
        {
            throw new InvalidImageException("unsupported VDI image (non-NULL parent UUID)");
        }

        if (BlocksInImage > MaxBlocks)
        {
            throw new InvalidImageException($"unsupported VDI image (too many blocks {BlocksInImage}, max is {MaxBlocks})");
        }
    }

    /// <summary>The disk size rounded up to whole sectors (VBoxManage can write odd sizes; QEMU rounds them).</summary>
    public ulong RoundedDiskSize => DiskSize > ulong.MaxValue - 511 ? DiskSize : (DiskSize + 511) & ~511UL;

    /// <summary>Bytes of the block map, rounded up to whole sectors.</summary>
    public long BmapBytes => (((long)BlocksInImage * 4) + 511) & ~511L;
}
