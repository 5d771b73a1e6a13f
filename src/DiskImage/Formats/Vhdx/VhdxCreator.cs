using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Formats.Vhdx;

/// <summary>
/// Writes a new VHDX laid out as qemu-img lays it out: file identifier, two headers, two region tables, the log
/// at 1 MiB, then the block allocation table, the 1 MiB metadata region, and data from 5 MiB past the table.
/// </summary>
internal static class VhdxCreator
{
    private const long MiB = 1 << 20;
    private const long MaxBlockSize = 256 * MiB;
    private const int LogicalSectorSize = 512;

    public static void Create(string path, VhdxCreateOptions options)
    {
        if (options.BackingFile is not null)
        {
            throw new InvalidOptionException("Backing file not supported for file format 'vhdx'");
        }

        var layout = Plan(options);
        using var created = NewImageFile.Create(path);
        var file = created.File;
        created.Guard("Failed to write file signature", withErrno: true, () => WriteFileIdentifier(file));
        WriteHeaders(file, (uint)layout.LogSize);
        WriteTable(file, layout, options);
        WriteRegionTables(file, layout);
        WriteMetadata(file, layout, options.Fixed);
        file.Flush();
    }

    /// <summary>Where everything goes, after qemu-img's rounding and checks of the options.</summary>
    internal sealed record Layout(long Size, long BlockSize, long LogSize, long BatOffset, long BatLength, long MetadataOffset, long DataOffset, long Entries, long ChunkRatio);

    internal static Layout Plan(VhdxCreateOptions options)
    {
        var requested = options.Size ?? throw new InvalidOptionException("Image creation needs a size parameter");
        if (requested < 0)
        {
            throw new InvalidOptionException("Image size must be non-negative");
        }

        var size = requested > long.MaxValue - 511 ? long.MaxValue : (requested + 511) & ~511L;
        if ((ulong)size > VhdxMetadata.MaxDiskSize)
        {
            throw new InvalidOptionException("Image size too large; max of 64TB");
        }

        var logSize = RoundUpToMiB(options.LogSize);
        if (logSize > uint.MaxValue)
        {
            throw new InvalidOptionException("Log size must be smaller than 4 GB");
        }

        if (logSize < MiB)
        {
            throw new InvalidOptionException("Log size must be a multiple of 1 MB");
        }

        var blockSize = options.BlockSize is { } given && given != 0 ? Math.Min(RoundUpToMiB(given), MaxBlockSize) : DefaultBlockSize(size);
        if (!long.IsPow2(blockSize))
        {
            throw new InvalidOptionException("Block size must be a power of two");
        }

        var chunkRatio = (8L << 20) * LogicalSectorSize / blockSize;
        var dataBlocks = (size + blockSize - 1) / blockSize;
        var entries = dataBlocks == 0 ? 0 : dataBlocks + ((dataBlocks - 1) / chunkRatio);
        var batOffset = RoundUpToMiB((1 * MiB) + logSize);
        // For an empty disk qemu-img's count wraps around (0 - 1 in 32 bits), and so does the table it reserves.
        var reserved = dataBlocks == 0 ? uint.MaxValue >> BitOperations.TrailingZeroCount(chunkRatio) : entries;
        var batLength = RoundUpToMiB(reserved * 8);
        var metadataOffset = batOffset + batLength;
        return new Layout(size, blockSize, logSize, batOffset, batLength, metadataOffset, metadataOffset + (5 * MiB), entries, chunkRatio);
    }

    /// <summary>qemu-img's choice, keeping the table small: 8 MiB blocks up to 1 GiB, 16 up to 100 GiB, 32 up to 32 TiB, then 64.</summary>
    private static long DefaultBlockSize(long size) => size switch
    {
        > 32L << 40 => 64 * MiB,
        > 100L << 30 => 32 * MiB,
        > 1L << 30 => 16 * MiB,
        _ => 8 * MiB,
    };

    private static long RoundUpToMiB(long value) => value > long.MaxValue - MiB ? long.MaxValue & ~(MiB - 1) : (value + MiB - 1) & ~(MiB - 1);

    private static void WriteFileIdentifier(IStorage file)
    {
        var id = new byte[8 + 512];
        "vhdxfile"u8.CopyTo(id);
        Encoding.Unicode.GetBytes("DiskImage", id.AsSpan(8));
        file.Write(0, id);
    }

    /// <summary>Two headers, the second one's sequence number one higher; an empty log (its GUID zero).</summary>
    private static void WriteHeaders(IStorage file, uint logSize)
    {
        var header = new VhdxHeader
        {
            SequenceNumber = (ulong)Random.Shared.NextInt64(uint.MaxValue),
            FileWriteGuid = Guid.NewGuid(),
            DataWriteGuid = Guid.NewGuid(),
            LogGuid = Guid.Empty,
            LogVersion = 0,
            Version = 1,
            LogLength = logSize,
            LogOffset = (ulong)MiB,
        };
        var block = new byte[VhdxHeader.Size];
        header.WriteTo(block);
        file.Write(VhdxHeader.FirstOffset, block);
        (header with { SequenceNumber = header.SequenceNumber + 1 }).WriteTo(block);
        file.Write(VhdxHeader.SecondOffset, block);
    }

    /// <summary>
    /// Sizes the file and writes the table: blocks marked as zero (<c>block_state_zero</c>), else a fixed disk's
    /// blocks in order from the data offset, fully present, and a dynamic disk's left not present (zero bytes).
    /// </summary>
    private static void WriteTable(IStorage file, Layout layout, VhdxCreateOptions options)
    {
        file.SetLength(layout.DataOffset + (options.Fixed ? layout.Size : 0));
        if (!options.Fixed && !options.BlockStateZero)
        {
            return;
        }

        // The whole region is written, as qemu-img writes it, a slice at a time so a large table never sits in
        // memory whole.
        var slice = new byte[Math.Min(layout.BatLength, 1 << 20)];
        long block = 0;
        for (long first = 0; first < layout.BatLength / 8; first += slice.Length / 8)
        {
            var count = (int)Math.Min(slice.Length / 8, (layout.BatLength / 8) - first);
            slice.AsSpan().Clear();
            for (var k = 0; k < count && first + k < layout.Entries; k++)
            {
                var index = first + k;
                if ((index + 1) % (layout.ChunkRatio + 1) == 0)
                {
                    continue; // a sector bitmap entry, left zero
                }

                // As in qemu-img, block_state_zero (the default) wins even for a fixed disk: its space is reserved
                // but its blocks read as zeroes until written, which then allocates them at the end of the file.
                var entry = options.BlockStateZero ? VhdxImage.ZeroState : (ulong)RoundUpToMiB(layout.DataOffset + (block * layout.BlockSize)) | VhdxImage.FullyPresent;
                BinaryPrimitives.WriteUInt64LittleEndian(slice.AsSpan(k * 8), entry);
                block++;
            }

            file.Write(layout.BatOffset + (first * 8), slice.AsSpan(0, count * 8));
        }
    }

    private static void WriteRegionTables(IStorage file, Layout layout)
    {
        var table = new byte[VhdxRegionTable.Size];
        BinaryPrimitives.WriteUInt32LittleEndian(table, 0x69676572); // "regi"
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(8), 2);
        WriteRegion(table.AsSpan(16, 32), VhdxRegionTable.BatGuid, layout.BatOffset, layout.BatLength);
        WriteRegion(table.AsSpan(48, 32), VhdxRegionTable.MetadataGuid, layout.MetadataOffset, MiB);
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4), VhdxCrc32C.Compute(table, 4));
        file.Write(VhdxRegionTable.Offset, table);
        file.Write(VhdxRegionTable.Offset + VhdxRegionTable.Size, table);
    }

    // Both regions are marked required, as the specification asks of them.
    private static void WriteRegion(Span<byte> entry, Guid guid, long offset, long length)
    {
        guid.TryWriteBytes(entry);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], (ulong)offset);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[24..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[28..], 1);
    }

    /// <summary>The table of the five required items, then the items themselves 64 KiB into the region.</summary>
    private static void WriteMetadata(IStorage file, Layout layout, bool isFixed)
    {
        const uint isVirtualDisk = 2, isRequired = 4;
        var table = new byte[64 * 1024];
        "metadata"u8.CopyTo(table);
        BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(10), 5);
        var items = new byte[8 + 8 + 16 + 4 + 4];
        (Guid Id, int Length, uint Flags)[] entries =
        [
            (VhdxMetadata.FileParameters, 8, isRequired),
            (VhdxMetadata.VirtualDiskSizeItem, 8, isRequired | isVirtualDisk),
            (VhdxMetadata.Page83, 16, isRequired | isVirtualDisk),
            (VhdxMetadata.LogicalSector, 4, isRequired | isVirtualDisk),
            (VhdxMetadata.PhysicalSector, 4, isRequired | isVirtualDisk),
        ];
        var offset = 0;
        for (var i = 0; i < entries.Length; i++)
        {
            var e = table.AsSpan(32 + (i * 32), 32);
            entries[i].Id.TryWriteBytes(e);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)(table.Length + offset));
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], (uint)entries[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], entries[i].Flags);
            offset += entries[i].Length;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(items, (uint)layout.BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(items.AsSpan(4), isFixed ? 1u : 0u); // leave blocks allocated
        BinaryPrimitives.WriteUInt64LittleEndian(items.AsSpan(8), (ulong)layout.Size);
        Guid.NewGuid().TryWriteBytes(items.AsSpan(16, 16));
        BinaryPrimitives.WriteUInt32LittleEndian(items.AsSpan(32), LogicalSectorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(items.AsSpan(36), LogicalSectorSize);
        file.Write(layout.MetadataOffset, table);
        file.Write(layout.MetadataOffset + table.Length, items);
    }
}
