using System.Buffers.Binary;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Formats.Vvfat;

/// <summary>
/// The FAT disk QEMU's vvfat driver makes of a host directory, built as it builds it: the geometry from the FAT type
/// and floppy choice, an MBR with one partition (not for a floppy), the boot sector, two copies of one FAT, the
/// directory entries in the host's directory-listing order (breadth first), and clusters given to files and
/// directories in that order. Everything is bounded by the disk: a tree that does not fit is refused in QEMU's words.
/// </summary>
internal sealed class VvfatLayout
{
    public const int SectorSize = 512;
    public const int SectorsPerCluster = 16;
    public const int ClusterSize = SectorSize * SectorsPerCluster;
    private const int RootEntries = 0x20 * SectorsPerCluster;
    private const int EntriesPerCluster = ClusterSize / VvfatNames.EntrySize;
    private static readonly byte[] VolumeLabel = Encoding.ASCII.GetBytes("QEMU VVFAT ");

    /// <summary>Leads a line QEMU's driver prints on its own, without the program's name (see <see cref="ImageWarnings"/>).</summary>
    private const string BareLine = "vvfat: ";

    private readonly List<byte[]> _entries = [];

    private VvfatLayout(VvfatName name)
    {
        Name = name;
        FatType = name.FatType == 0 ? (name.Floppy ? 12 : 16) : name.FatType;
        if (FatType is not (12 or 16 or 32))
        {
            throw new InvalidOptionException("Valid FAT types are only 12, 16 and 32");
        }

        if (FatType == 32)
        {
            ImageWarnings.Report("warning: FAT32 has not been tested. You are welcome to do so!");
        }

        int cylinders, heads;
        if (name.Floppy)
        {
            (cylinders, heads, SectorsPerTrack) = (80, 2, name.FatType == 12 ? 18 : 36);
        }
        else
        {
            (cylinders, heads, SectorsPerTrack) = (FatType == 12 ? 64 : 1024, 16, 63);
            OffsetToBootSector = 0x3f;
        }

        Cylinders = cylinders;
        Heads = heads;
        TotalSectors = (long)cylinders * heads * SectorsPerTrack;
        SectorCount = TotalSectors - OffsetToBootSector;
        var perFat = 1 + (SectorsPerCluster * SectorSize * 8 / FatType);
        SectorsPerFat = (SectorCount + perFat) / perFat;
        OffsetToFat = OffsetToBootSector + 1;
        OffsetToRootDir = OffsetToFat + (SectorsPerFat * 2);
        ClusterCount = (SectorCount - OffsetToRootDir) / SectorsPerCluster;
        MaxFatValue = FatType switch { 12 => 0xfff, 16 => 0xffff, _ => 0x0fffffff };
        Fat = new byte[(SectorsPerFat * SectorSize) + 4];
    }

    public VvfatName Name { get; }

    public int FatType { get; }

    private int Cylinders { get; }

    private int Heads { get; }

    private int SectorsPerTrack { get; }

    public long TotalSectors { get; }

    private long SectorCount { get; }

    public long SectorsPerFat { get; }

    public long OffsetToBootSector { get; }

    public long OffsetToFat { get; }

    public long OffsetToRootDir { get; }

    public long ClusterCount { get; }

    private uint MaxFatValue { get; }

    /// <summary>One FAT (both copies read the same).</summary>
    public byte[] Fat { get; }

    /// <summary>The sectors before the FAT: the MBR and the boot sector.</summary>
    public byte[] FirstSectors { get; } = new byte[0x40 * SectorSize];

    /// <summary>Every directory's entries, one table.</summary>
    public byte[] Directory { get; private set; } = [];

    /// <summary>The cluster runs, in cluster order.</summary>
    public List<VvfatMapping> Mappings { get; } = [];

    public static VvfatLayout Build(VvfatName name)
    {
        var layout = new VvfatLayout(name);
        layout.BuildDirectories();
        return layout;
    }

    private void BuildDirectories()
    {
        var label = new byte[VvfatNames.EntrySize];
        VolumeLabel.CopyTo(label, 0);
        label[11] = 0x28;
        _entries.Add(label);
        var root = Name.Directory.Length > 0 && Name.Directory[^1] == '/' ? Name.Directory[..^1] : Name.Directory;
        Mappings.Add(new VvfatMapping(root, isDirectory: true, dirIndex: 0, parentIndex: -1, size: 0));
        long cluster = 0;
        for (var i = 0; i < Mappings.Count; i++)
        {
            var mapping = Mappings[i];
            var fixFat = i != 0;
            mapping.Begin = cluster;
            if (mapping.IsDirectory)
            {
                ReadDirectory(i);
            }
            else
            {
                mapping.End = cluster + 1 + ((mapping.Size - 1) / ClusterSize);
                SetBegin(_entries[mapping.DirIndex], mapping.Begin);
            }

            cluster = mapping.End;
            if (cluster > ClusterCount)
            {
                throw DoesNotFit();
            }

            if (fixFat)
            {
                for (var j = mapping.Begin; j < mapping.End - 1; j++)
                {
                    SetFat(j, (uint)(j + 1));
                }

                SetFat(mapping.End - 1, MaxFatValue);
            }
        }

        SetFat(0, MaxFatValue);
        SetFat(1, MaxFatValue);
        Directory = new byte[_entries.Count * VvfatNames.EntrySize];
        for (var i = 0; i < _entries.Count; i++)
        {
            _entries[i].CopyTo(Directory, i * VvfatNames.EntrySize);
        }

        WriteBootSector();
        if (OffsetToBootSector > 0)
        {
            WriteMbr();
        }
    }

    private InvalidImageException DoesNotFit() => new(string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Directory does not fit in FAT{FatType} (capacity {SectorCount / 2000.0:F2} MB)"));

    /// <summary>Adds a directory's entries, and a mapping for each subdirectory and non-empty file in it.</summary>
    private void ReadDirectory(int index)
    {
        var mapping = Mappings[index];
        var firstCluster = mapping.Begin;
        var parentBegin = mapping.ParentIndex >= 0 ? Mappings[mapping.ParentIndex].Begin : -1;
        IEnumerable<string> children;
        try
        {
            children = System.IO.Directory.EnumerateFileSystemEntries(mapping.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ImageAccessException($"Could not read directory {mapping.Path}");
        }

        var first = firstCluster == 0 ? 0 : _entries.Count;
        mapping.FirstDirIndex = first;
        if (firstCluster != 0)
        {
            _entries.Add(VvfatNames.DotEntry("."));
            _entries.Add(VvfatNames.DotEntry(".."));
            if (FileStatCalls.TryStatTimes(mapping.Path + "/.", out var self))
            {
                Fill(_entries[first], self, firstCluster);
            }

            if (FileStatCalls.TryStatTimes(mapping.Path + "/..", out var parent))
            {
                Fill(_entries[first + 1], parent, parentBegin);
            }
        }

        // More entries than the disk's clusters can hold never fit: stop reading there.
        var limit = (ClusterCount + 1) * EntriesPerCluster;
        try
        {
            foreach (var path in children)
            {
                if (firstCluster == 0 && _entries.Count >= RootEntries - 1)
                {
                    ImageWarnings.Report(BareLine + "Too many entries in root directory");
                    throw new ImageAccessException($"Could not read directory {mapping.Path}");
                }

                if (_entries.Count > limit)
                {
                    throw DoesNotFit();
                }

                if (!FileStatCalls.TryStatTimes(path, out var stat))
                {
                    continue;
                }

                var entryIndex = VvfatNames.Append(_entries, first, System.IO.Path.GetFileName(path))
                    ?? throw new ImageAccessException($"Could not read directory {mapping.Path}");
                if (stat.Size > 0x7fffffff && !stat.IsDirectory)
                {
                    ImageWarnings.Report($"{BareLine}File {path} is larger than 2GB");
                    throw new ImageAccessException($"Could not read directory {mapping.Path}");
                }

                Fill(_entries[entryIndex], stat, 0);
                if (stat.IsDirectory || stat.Size > 0)
                {
                    Mappings.Add(new VvfatMapping(path, stat.IsDirectory, entryIndex, index, stat.IsDirectory ? 0 : stat.Size));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageAccessException($"Could not read directory {mapping.Path}");
        }

        while (_entries.Count % EntriesPerCluster != 0)
        {
            _entries.Add(new byte[VvfatNames.EntrySize]);
        }

        if (FatType != 32 && index == 0)
        {
            while (_entries.Count < RootEntries)
            {
                _entries.Add(new byte[VvfatNames.EntrySize]);
            }
        }

        mapping.End = firstCluster + ((_entries.Count - first) * VvfatNames.EntrySize / ClusterSize);
        SetBegin(_entries[mapping.DirIndex], mapping.Begin);
    }

    /// <summary>An 8.3 entry's attributes, times (local time, as QEMU writes them), size and first cluster.</summary>
    private static void Fill(byte[] entry, FileStatCalls.FileTimes stat, long begin)
    {
        entry[11] = stat.IsDirectory ? (byte)0x10 : (byte)0x20;
        entry[12] = entry[13] = 0;
        var span = entry.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span[14..], FatTime(stat.ChangeTime));
        BinaryPrimitives.WriteUInt16LittleEndian(span[16..], FatDate(stat.ChangeTime));
        BinaryPrimitives.WriteUInt16LittleEndian(span[18..], FatDate(stat.AccessTime));
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], FatTime(stat.ModifyTime));
        BinaryPrimitives.WriteUInt16LittleEndian(span[24..], FatDate(stat.ModifyTime));
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], stat.IsDirectory ? 0 : (uint)stat.Size);
        SetBegin(entry, begin);
    }

    private static void SetBegin(byte[] entry, long begin)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(26), (ushort)begin);
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(20), (ushort)(begin >> 16));
    }

    private static DateTime Local(long seconds) =>
        TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, -62135596800L, 253402300799L)), TimeZoneInfo.Local).DateTime;

    private static ushort FatTime(long seconds)
    {
        var t = Local(seconds);
        return (ushort)((t.Second / 2) | (t.Minute << 5) | (t.Hour << 11));
    }

    private static ushort FatDate(long seconds)
    {
        var t = Local(seconds);
        return (ushort)(t.Day | (t.Month << 5) | ((t.Year - 1980) << 9));
    }

    private void SetFat(long cluster, uint value)
    {
        switch (FatType)
        {
            case 32:
                BinaryPrimitives.WriteUInt32LittleEndian(Fat.AsSpan((int)(cluster * 4)), value);
                break;
            case 16:
                BinaryPrimitives.WriteUInt16LittleEndian(Fat.AsSpan((int)(cluster * 2)), (ushort)value);
                break;
            default:
                var offset = (int)(cluster * 3 / 2);
                if ((cluster & 1) == 0)
                {
                    Fat[offset] = (byte)value;
                    Fat[offset + 1] = (byte)((uint)(Fat[offset + 1] & 0xf0) | ((value >> 8) & 0xf));
                }
                else
                {
                    Fat[offset] = (byte)((uint)(Fat[offset] & 0xf) | ((value & 0xf) << 4));
                    Fat[offset + 1] = (byte)(value >> 4);
                }

                break;
        }
    }

    private void WriteBootSector()
    {
        var boot = FirstSectors.AsSpan((int)(OffsetToBootSector * SectorSize), SectorSize);
        boot[0] = 0xeb;
        boot[1] = 0x3e;
        boot[2] = 0x90;
        Encoding.ASCII.GetBytes("MSWIN4.1", boot[3..]);
        BinaryPrimitives.WriteUInt16LittleEndian(boot[0x0b..], SectorSize);
        boot[0x0d] = SectorsPerCluster;
        BinaryPrimitives.WriteUInt16LittleEndian(boot[0x0e..], 1);
        boot[0x10] = 2;
        BinaryPrimitives.WriteUInt16LittleEndian(boot[0x11..], RootEntries);
        BinaryPrimitives.WriteUInt16LittleEndian(boot[0x13..], SectorCount > 0xffff ? (ushort)0 : (ushort)SectorCount);
        boot[0x15] = OffsetToBootSector > 0 ? (byte)0xf8 : (byte)0xf0;
        Fat[0] = boot[0x15];
        BinaryPrimitives.WriteUInt16LittleEndian(boot[0x16..], (ushort)SectorsPerFat);
        BinaryPrimitives.WriteUInt16LittleEndian(boot[0x18..], (ushort)SectorsPerTrack);
        BinaryPrimitives.WriteUInt16LittleEndian(boot[0x1a..], (ushort)Heads);
        BinaryPrimitives.WriteUInt32LittleEndian(boot[0x1c..], (uint)OffsetToBootSector);
        BinaryPrimitives.WriteUInt32LittleEndian(boot[0x20..], SectorCount > 0xffff ? (uint)SectorCount : 0);
        boot[0x24] = OffsetToBootSector == 0 ? (byte)0 : (byte)0x80;
        boot[0x26] = 0x29;
        BinaryPrimitives.WriteUInt32LittleEndian(boot[0x27..], 0xfabe1afd);
        VolumeLabel.CopyTo(boot[0x2b..]);
        Encoding.ASCII.GetBytes(FatType == 12 ? "FAT12   " : "FAT16   ", boot[0x36..]);
        boot[0x1fe] = 0x55;
        boot[0x1ff] = 0xaa;
    }

    private void WriteMbr()
    {
        var mbr = FirstSectors.AsSpan(0, SectorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(mbr[0x1b8..], 0xbe1afdfa);
        var partition = mbr[0x1be..];
        partition[0] = 0x80;
        var lba = Chs(partition[1..4], OffsetToBootSector) | Chs(partition[5..8], TotalSectors - 1);
        BinaryPrimitives.WriteUInt32LittleEndian(partition[8..], (uint)OffsetToBootSector);
        BinaryPrimitives.WriteUInt32LittleEndian(partition[12..], (uint)(TotalSectors - OffsetToBootSector));
        partition[4] = FatType == 12 ? (byte)0x1 : FatType == 16 ? (lba ? (byte)0xe : (byte)0x06) : (lba ? (byte)0xc : (byte)0x0b);
        mbr[0x1fe] = 0x55;
        mbr[0x1ff] = 0xaa;
    }

    /// <summary>A sector's cylinder/head/sector bytes; true (and all 0xff) when it lies past the geometry.</summary>
    private bool Chs(Span<byte> chs, long sector)
    {
        var inTrack = sector % SectorsPerTrack;
        sector /= SectorsPerTrack;
        var head = sector % Heads;
        sector /= Heads;
        if (sector >= Cylinders)
        {
            chs.Fill(0xff);
            return true;
        }

        chs[0] = (byte)head;
        chs[1] = (byte)((inTrack + 1) | ((sector >> 8) << 6));
        chs[2] = (byte)sector;
        return false;
    }
}
