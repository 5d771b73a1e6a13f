using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// One extent of a VMDK: a flat file region, or a sparse file with a grain directory (L1) and grain
/// tables (L2), hosted ("KDMV", optionally stream-optimized), ESX COWD or seSparse. Lookups and reads
/// are thread-safe; writes are serialized by the owning image.
/// </summary>
internal sealed partial class VmdkExtent : IDisposable
{
    /// <summary>Grain tables kept in memory at most; the cache is emptied when it grows past this.</summary>
    private const int MaxCachedTables = 8192;

    /// <summary>Most of a compressed grain read first: a whole 64 KiB grain's worth plus its marker.</summary>
    private const int CompressedProbeBytes = (64 << 10) + 512;

    /// <summary>Least of a compressed grain read first: the marker and a well-compressed grain.</summary>
    private const int MinimumProbeBytes = 4 << 10;

    /// <summary>
    /// How much the next compressed grain's first read takes: the last grain's stored size and a sector, since
    /// neighbouring grains compress alike. Reading a whole grain's worth every time copies several times the
    /// stored bytes for compressible data; a wrong guess costs one more read. Racy on purpose: only a hint.
    /// </summary>
    private int _probeBytes = CompressedProbeBytes;

    private readonly ConcurrentDictionary<long, byte[]> _tables = new();
    private uint[] _directory = [];
    private ulong[] _seDirectory = [];
    private uint[] _backupDirectory = [];

    private VmdkExtent(VmdkFile file, string typeName, long sectors)
    {
        File = file;
        TypeName = typeName;
        Sectors = sectors;
    }

    public VmdkFile File { get; }

    /// <summary>The extent type as the descriptor names it; empty for a monolithic sparse file (QEMU prints "").</summary>
    public string TypeName { get; }

    public long Sectors { get; }

    public long Bytes => Sectors * VmdkConstants.SectorSize;

    /// <summary>Guest byte offset where this extent starts.</summary>
    public long Start { get; set; }

    public bool Flat { get; private init; }
    public long FlatStart { get; private init; }
    public bool Compressed { get; private init; }
    public bool HasMarkers { get; private init; }
    public bool HasZeroGrain { get; private init; }
    public bool SeSparse { get; private init; }
    public bool Cowd { get; private init; }
    public int Version { get; private init; }
    public long ClusterSectors { get; private init; }
    public long ClusterBytes => ClusterSectors * VmdkConstants.SectorSize;
    public int TableEntries { get; private init; }
    public long DirectoryEntries { get; private init; }
    public long DirectoryOffset { get; private init; }
    public long BackupDirectoryOffset { get; private init; }
    private long EntrySectors => TableEntries * ClusterSectors;
    private int EntrySize => SeSparse ? 8 : 4;
    private int TableBytes => TableEntries * EntrySize;
    private long SeTablesOffset { get; init; }
    private long SeGrainsOffset { get; init; }

    /// <summary>Where the next grain goes (sectors): the file's end rounded up to a grain.</summary>
    public long NextClusterSector { get; set; }

    public static VmdkExtent CreateFlat(VmdkFile file, string typeName, long sectors, long flatStartBytes) =>
        new(file, typeName, sectors) { Flat = true, FlatStart = flatStartBytes, ClusterSectors = sectors };

    /// <summary>Opens a hosted sparse extent, refusing the header values QEMU refuses.</summary>
    public static VmdkExtent CreateSparseChecked(VmdkFile file, string typeName, in VmdkSparseHeader header)
    {
        var directoryEntries = CheckedDirectory(header.Capacity, header.GrainTableEntries, header.Granularity);
        var fileSectors = (file.Length + VmdkConstants.SectorSize - 1) / VmdkConstants.SectorSize;
        if ((ulong)fileSectors < header.GrainOffset)
        {
            var expected = header.GrainOffset > (ulong)(long.MaxValue >> 9) ? long.MaxValue : (long)header.GrainOffset * VmdkConstants.SectorSize;
            throw new InvalidImageException($"File truncated, expecting at least {expected} bytes");
        }

        var extent = new VmdkExtent(file, typeName, (long)header.Capacity)
        {
            ClusterSectors = (long)header.Granularity,
            TableEntries = (int)header.GrainTableEntries,
            DirectoryEntries = directoryEntries,
            DirectoryOffset = (long)Math.Min(header.DirectoryOffset, long.MaxValue >> 9) << 9,
            BackupDirectoryOffset = header.HasRedundantDirectory ? (long)Math.Min(header.RedundantDirectoryOffset, long.MaxValue >> 9) << 9 : 0,
            Compressed = header.Compressed,
            HasMarkers = header.HasMarkers,
            HasZeroGrain = header.HasZeroGrain,
            Version = (int)header.Version,
        };
        extent.LoadDirectories();
        return extent;
    }

    public static VmdkExtent CreateCowd(VmdkFile file, string typeName, in VmdkCowdHeader header)
    {
        CheckGeometry(header.Granularity, header.DirectorySize);
        var extent = new VmdkExtent(file, typeName, header.DiskSectors)
        {
            Cowd = true,
            ClusterSectors = header.Granularity,
            TableEntries = VmdkCowdHeader.GrainTableEntries,
            DirectoryEntries = header.DirectorySize,
            DirectoryOffset = (long)header.DirectoryOffset << 9,
        };
        extent.LoadDirectories();
        return extent;
    }

    public static VmdkExtent CreateSeSparse(VmdkFile file, string typeName, in SeSparseHeader header)
    {
        var entries = header.GrainDirectorySize > (ulong)VmdkConstants.MaxGrainDirectoryEntries ? ulong.MaxValue : header.GrainDirectorySize * 512 / 8;
        CheckGeometry(header.GrainSize, entries);
        if (header.Capacity > long.MaxValue >> 9 || header.GrainDirectoryOffset > long.MaxValue >> 9)
        {
            throw new InvalidImageException("Invalid seSparse header: capacity or offsets out of range");
        }

        var extent = new VmdkExtent(file, typeName, (long)header.Capacity)
        {
            SeSparse = true,
            ClusterSectors = (long)header.GrainSize,
            TableEntries = (int)(header.GrainTableSize * 512 / 8),
            DirectoryEntries = (long)entries,
            DirectoryOffset = (long)header.GrainDirectoryOffset << 9,
            SeTablesOffset = (long)Math.Min(header.GrainTablesOffset, long.MaxValue >> 10),
            SeGrainsOffset = (long)Math.Min(header.GrainsOffset, long.MaxValue >> 10),
        };
        extent.LoadDirectories();
        return extent;
    }

    /// <summary>The grain directory size a hosted sparse header implies, refused as QEMU refuses it.</summary>
    private static long CheckedDirectory(ulong capacity, uint tableEntries, ulong granularity)
    {
        if (tableEntries > VmdkConstants.MaxGrainTableEntries)
        {
            throw new InvalidImageException("L2 table size too big");
        }

        // QEMU computes the entry coverage in 32 bits; a product that wraps to zero is refused there too.
        var entrySectors = (uint)(tableEntries * granularity);
        if (entrySectors == 0)
        {
            throw new InvalidImageException("L1 entry size is invalid");
        }

        // QEMU's directory size: 64-bit arithmetic kept in 32 bits, checked (granularity, then size) before the
        // capacity is looked at; the exact size is checked again so a count that wrapped cannot pass.
        CheckGeometry(granularity, (uint)(unchecked(capacity + entrySectors - 1) / entrySectors));
        if (capacity > (ulong)(long.MaxValue >> 9))
        {
            throw new InvalidImageException("Invalid capacity, image may be corrupt");
        }

        var entries = (capacity + entrySectors - 1) / entrySectors;
        CheckGeometry(granularity, entries);
        return (long)entries;
    }

    private static void CheckGeometry(ulong granularity, ulong directoryEntries)
    {
        if (granularity > VmdkConstants.MaxGrainSectors || granularity == 0)
        {
            throw new InvalidImageException("Invalid granularity, image may be corrupt");
        }

        if (directoryEntries > VmdkConstants.MaxGrainDirectoryEntries)
        {
            throw new InvalidImageException("L1 size too big");
        }
    }

    /// <summary>
    /// Reads the grain directory (and its backup). Only the part inside the file is held: the rest reads
    /// as zero entries anyway, and a crafted size cannot make the reader allocate more than the file holds.
    /// </summary>
    private void LoadDirectories()
    {
        var fileLength = File.Length;
        _directory = [];
        if (SeSparse)
        {
            _seDirectory = new ulong[HeldEntries(DirectoryOffset, fileLength)];
            var raw = new byte[_seDirectory.Length * 8];
            File.Read(DirectoryOffset, raw);
            for (var i = 0; i < _seDirectory.Length; i++)
            {
                _seDirectory[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
            }

            return;
        }

        _directory = ReadDirectory(DirectoryOffset, fileLength);
        if (BackupDirectoryOffset != 0)
        {
            _backupDirectory = ReadDirectory(BackupDirectoryOffset, fileLength);
        }
    }

    private long HeldEntries(long offset, long fileLength) =>
        offset >= fileLength ? 0 : Math.Min(DirectoryEntries, (fileLength - offset + EntrySize - 1) / EntrySize);

    private uint[] ReadDirectory(long offset, long fileLength)
    {
        var held = HeldEntries(offset, fileLength);
        var table = new uint[held];
        var raw = new byte[held * 4];
        File.Read(offset, raw);
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
        }

        return table;
    }

    /// <summary>Where <paramref name="offset"/> (bytes from the extent's start) lives.</summary>
    public VmdkGrain Lookup(long offset)
    {
        if (Flat)
        {
            return new VmdkGrain(VmdkGrainState.Data, FlatStart + offset, Bytes - offset);
        }

        var inGrain = offset % ClusterBytes;
        var toGrainEnd = Math.Min(ClusterBytes - inGrain, Bytes - offset);
        var sector = offset >> 9;
        var l1Index = sector / EntrySectors;
        if (l1Index >= DirectoryEntries)
        {
            throw new InvalidImageException($"Grain directory index {l1Index} for offset {Start + offset} is out of range");
        }

        var tableSector = TableSector(l1Index);
        if (tableSector == 0)
        {
            var toEntryEnd = (l1Index + 1) * EntrySectors * VmdkConstants.SectorSize - offset;
            return new VmdkGrain(VmdkGrainState.Unallocated, 0, Math.Min(toEntryEnd, Bytes - offset));
        }

        var table = Table(tableSector);
        var l2Index = (int)(sector / ClusterSectors % TableEntries);
        if (SeSparse)
        {
            return SeSparseGrain(BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(l2Index * 8)), inGrain, toGrainEnd);
        }

        var entry = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(l2Index * 4));
        if (entry == 0)
        {
            return new VmdkGrain(VmdkGrainState.Unallocated, 0, toGrainEnd);
        }

        if (HasZeroGrain && entry == VmdkConstants.ZeroedGrainEntry)
        {
            return new VmdkGrain(VmdkGrainState.Zero, 0, toGrainEnd);
        }

        return new VmdkGrain(VmdkGrainState.Data, (long)entry << 9, toGrainEnd);
    }

    private VmdkGrain SeSparseGrain(ulong entry, long inGrain, long toGrainEnd)
    {
        switch (entry & 0xf000000000000000)
        {
            case 0:
                return entry == 0
                    ? new VmdkGrain(VmdkGrainState.Unallocated, 0, toGrainEnd)
                    : throw new InvalidImageException($"Invalid seSparse grain table entry 0x{entry:x16}");
            case 0x1000000000000000:
            case 0x2000000000000000:
                return new VmdkGrain(VmdkGrainState.Zero, 0, toGrainEnd);
            case 0x3000000000000000:
                var index = (long)(((entry & 0x0fff000000000000) >> 48) | ((entry & 0x0000ffffffffffff) << 12));
                var grainSector = SeGrainsOffset + index * ClusterSectors;
                if (grainSector < 0 || grainSector > long.MaxValue >> 10)
                {
                    throw new InvalidImageException($"Invalid seSparse grain table entry 0x{entry:x16}");
                }

                return new VmdkGrain(VmdkGrainState.Data, grainSector << 9, toGrainEnd);
            default:
                throw new InvalidImageException($"Invalid seSparse grain table entry 0x{entry:x16}");
        }
    }

    /// <summary>Sector of the grain table for directory entry <paramref name="l1Index"/>; 0 when there is none.</summary>
    private long TableSector(long l1Index)
    {
        if (!SeSparse)
        {
            return l1Index < _directory.Length ? _directory[l1Index] : 0;
        }

        var raw = l1Index < _seDirectory.Length ? _seDirectory[l1Index] : 0;
        if (raw == 0)
        {
            return 0;
        }

        if ((raw & 0xffffffff00000000) != 0x1000000000000000)
        {
            throw new InvalidImageException($"Invalid seSparse grain directory entry 0x{raw:x16}");
        }

        var sector = SeTablesOffset + (long)(raw & 0xffffffff) * TableBytes / VmdkConstants.SectorSize;
        return sector <= uint.MaxValue ? sector : throw new InvalidImageException($"Invalid seSparse grain directory entry 0x{raw:x16}");
    }

    private byte[] Table(long sector)
    {
        if (_tables.TryGetValue(sector, out var table))
        {
            return table;
        }

        table = new byte[TableBytes];
        File.Read(sector << 9, table);
        if (_tables.Count >= MaxCachedTables)
        {
            _tables.Clear();
        }

        return _tables.GetOrAdd(sector, table);
    }

    /// <summary>Reads <c>buffer.Length</c> bytes of one grain found by <see cref="Lookup"/>, at <paramref name="inGrain"/> within it.</summary>
    public void ReadData(in VmdkGrain grain, long inGrain, Span<byte> buffer)
    {
        if (!Compressed)
        {
            File.Read(grain.HostOffset + inGrain, buffer);
            return;
        }

        var grainBytes = (int)ClusterBytes;
        if (inGrain == 0 && buffer.Length == grainBytes)
        {
            var produced = Inflate(grain.HostOffset, buffer);
            if (produced < buffer.Length)
            {
                throw new InvalidImageException($"The compressed grain at host offset 0x{grain.HostOffset:x} is short", grain.HostOffset);
            }

            return;
        }

        var whole = ArrayPool<byte>.Shared.Rent(grainBytes);
        try
        {
            var produced = Inflate(grain.HostOffset, whole.AsSpan(0, grainBytes));
            if (inGrain + buffer.Length > produced)
            {
                throw new InvalidImageException($"The compressed grain at host offset 0x{grain.HostOffset:x} is short", grain.HostOffset);
            }

            whole.AsSpan((int)inGrain, buffer.Length).CopyTo(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(whole);
        }
    }

    /// <summary>Reads the marker and compressed bytes at <paramref name="hostOffset"/> and inflates them into <paramref name="grain"/>.</summary>
    private int Inflate(long hostOffset, Span<byte> grain)
    {
        var limit = grain.Length * 2;
        var raw = ArrayPool<byte>.Shared.Rent(limit);
        try
        {
            int dataStart, dataLength;
            if (HasMarkers)
            {
                var first = Math.Min(_probeBytes, limit);
                File.Read(hostOffset, raw.AsSpan(0, first));
                var size = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(8));
                if (size == 0 || size > limit - VmdkConstants.GrainMarkerHeaderSize)
                {
                    throw new InvalidImageException($"Invalid compressed grain size {size} at host offset 0x{hostOffset:x}", hostOffset);
                }

                dataStart = VmdkConstants.GrainMarkerHeaderSize;
                dataLength = (int)size;
                _probeBytes = Math.Clamp((dataStart + dataLength + (2 * VmdkConstants.SectorSize) - 1) & ~(VmdkConstants.SectorSize - 1), MinimumProbeBytes, CompressedProbeBytes);
                if (dataStart + dataLength > first)
                {
                    File.Read(hostOffset + first, raw.AsSpan(first, dataStart + dataLength - first));
                }
            }
            else
            {
                File.Read(hostOffset, raw.AsSpan(0, grain.Length));
                dataStart = 0;
                dataLength = grain.Length;
            }

            return VmdkGrainCodec.Decompress(raw.AsSpan(dataStart, dataLength), grain, hostOffset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    public void Dispose() => File.Dispose();
}
