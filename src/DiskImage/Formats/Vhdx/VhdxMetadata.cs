using System.Buffers.Binary;

namespace DiskImage.Formats.Vhdx;

/// <summary>The metadata items QEMU needs: block size, flags, disk size, sector sizes.</summary>
internal sealed record VhdxMetadata(uint BlockSize, bool LeaveBlocksAllocated, bool HasParent, ulong VirtualDiskSize, uint LogicalSectorSize, uint PhysicalSectorSize)
{
    private const int TableSize = 64 * 1024;
    private const int MaxEntries = 2047;

    internal static readonly Guid FileParameters = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    internal static readonly Guid VirtualDiskSizeItem = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    internal static readonly Guid Page83 = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    internal static readonly Guid LogicalSector = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    internal static readonly Guid PhysicalSector = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    internal static readonly Guid ParentLocator = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

    /// <summary>The largest disk QEMU opens: 64 TiB.</summary>
    public const ulong MaxDiskSize = 64UL << 40;

    public static VhdxMetadata Read(IO.IStorage file, long regionOffset, long regionLength)
    {
        var table = new byte[TableSize];
        file.Read(regionOffset, table);
        if (!table.AsSpan(0, 8).SequenceEqual("metadata"u8))
        {
            throw new InvalidImageException("Invalid argument", regionOffset);
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        if (count > MaxEntries)
        {
            throw new InvalidImageException("Invalid argument", regionOffset);
        }

        var items = new Dictionary<Guid, byte[]>();
        for (var i = 0; i < count; i++)
        {
            var e = table.AsSpan(32 + (i * 32), 32);
            var id = new Guid(e[..16]);
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
            var required = (BinaryPrimitives.ReadUInt32LittleEndian(e[24..]) & 4) != 0;
            var known = id == FileParameters || id == VirtualDiskSizeItem || id == Page83 || id == LogicalSector || id == PhysicalSector || id == ParentLocator;
            if (!known)
            {
                if (required)
                {
                    throw new UnsupportedFeatureException("Operation not supported");
                }

                continue;
            }

            // Items lie inside the region and are small; a duplicate is a damaged table.
            if (items.ContainsKey(id) || length > 64 * 1024 || offset > regionLength || offset + (long)length > regionLength)
            {
                throw new InvalidImageException("Invalid argument", regionOffset);
            }

            var value = new byte[length];
            file.Read(regionOffset + offset, value);
            items[id] = value;
        }

        var parameters = Item(items, FileParameters, 8);
        if ((parameters[4] & 2) != 0)
        {
            // QEMU 7.2 does not read differencing VHDX images; neither does this reader, rather than read them
            // differently. Without the parent locator such an image is invalid, as QEMU finds it.
            throw items.ContainsKey(ParentLocator) ? new UnsupportedFeatureException("Operation not supported") : new InvalidImageException("Invalid argument");
        }

        var size = Item(items, VirtualDiskSizeItem, 8);
        _ = Item(items, Page83, 16);
        var logical = Item(items, LogicalSector, 4);
        var physical = Item(items, PhysicalSector, 4);
        var metadata = new VhdxMetadata(
            BinaryPrimitives.ReadUInt32LittleEndian(parameters),
            (parameters[4] & 1) != 0,
            (parameters[4] & 2) != 0,
            BinaryPrimitives.ReadUInt64LittleEndian(size),
            BinaryPrimitives.ReadUInt32LittleEndian(logical),
            BinaryPrimitives.ReadUInt32LittleEndian(physical));
        metadata.Validate();
        return metadata;
    }

    private static byte[] Item(Dictionary<Guid, byte[]> items, Guid id, int minimumLength) =>
        items.TryGetValue(id, out var value) && value.Length >= minimumLength ? value : throw new InvalidImageException("Invalid argument");

    private void Validate()
    {
        if (BlockSize < (1 << 20) || BlockSize > (256 << 20) || !uint.IsPow2(BlockSize))
        {
            throw new InvalidImageException("Invalid argument");
        }

        if (LogicalSectorSize is not (512 or 4096) || PhysicalSectorSize is not (512 or 4096))
        {
            throw new InvalidImageException("Invalid argument");
        }

        if (VirtualDiskSize > MaxDiskSize)
        {
            throw new InvalidImageException("Invalid argument");
        }
    }

    /// <summary>Payload blocks per sector bitmap block: 2^23 sectors' worth of blocks.</summary>
    public long ChunkRatio => (8L << 20) * LogicalSectorSize / BlockSize;
}
