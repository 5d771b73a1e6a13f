using System.Buffers.Binary;

namespace DiskImage.Formats.Vmdk;

/// <summary>Grain allocation and grain table updates; callers hold the image's write lock.</summary>
internal sealed partial class VmdkExtent
{
    /// <summary>Whether the grain table covering <paramref name="offset"/> exists (writes need it; QEMU never adds tables).</summary>
    public bool HasTableFor(long offset) => TableSector((offset >> 9) / EntrySectors) != 0;

    /// <summary>Takes <paramref name="sectors"/> sectors at the end of the file for a new grain; returns its byte offset.</summary>
    public long Allocate(long sectors)
    {
        if (NextClusterSector + sectors > VmdkConstants.MaxExtentSectors)
        {
            throw new UnsupportedFeatureException($"The extent file '{File.Name}' is full (grain table entries address at most 2 TiB)");
        }

        var offset = NextClusterSector << 9;
        NextClusterSector += sectors;
        return offset;
    }

    /// <summary>Points the grain table entry for <paramref name="offset"/> (and its redundant copy) at <paramref name="value"/>.</summary>
    public void SetEntry(long offset, uint value)
    {
        var sector = offset >> 9;
        var l1Index = sector / EntrySectors;
        var l2Index = (int)(sector / ClusterSectors % TableEntries);
        Span<byte> entry = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, value);
        var tableSector = TableSector(l1Index);
        File.Write((tableSector << 9) + l2Index * 4L, entry);
        if (BackupDirectoryOffset != 0 && l1Index < _backupDirectory.Length && _backupDirectory[l1Index] != 0)
        {
            File.Write(((long)_backupDirectory[l1Index] << 9) + l2Index * 4L, entry);
        }

        if (_tables.TryGetValue(tableSector, out var table))
        {
            entry.CopyTo(table.AsSpan(l2Index * 4));
        }
    }
}
