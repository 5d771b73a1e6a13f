namespace DiskImage.Formats.Iso9660;

/// <summary>
/// The SUSP entries of one directory record, split into the part that fits in the record and
/// continuation areas reached through CE entries. Areas after the first are placed by the layout.
/// </summary>
internal sealed class SuspChain
{
    /// <summary>Size of a CE entry.</summary>
    public const int ContinuationEntryLength = 28;

    /// <summary>Largest continuation area; one never crosses a sector.</summary>
    public const int MaxAreaLength = IsoConstants.SectorSize;

    public sealed class Area
    {
        public List<byte[]> Entries { get; } = [];
        public int EntriesLength { get; set; }
        public bool HasNext { get; set; }
        public uint Block { get; set; }
        public int Offset { get; set; }
        public int Length => EntriesLength + (HasNext ? ContinuationEntryLength : 0);
    }

    public List<Area> Areas { get; } = [];

    /// <summary>Bytes the chain occupies inside the directory record.</summary>
    public int InlineLength => Areas.Count == 0 ? 0 : Areas[0].Length;

    /// <summary>Splits entries so at most <paramref name="inlineCapacity"/> bytes stay in the record.</summary>
    public static SuspChain Split(IReadOnlyList<byte[]> entries, int inlineCapacity)
    {
        var chain = new SuspChain();
        var area = new Area();
        chain.Areas.Add(area);
        var capacity = inlineCapacity;
        var remaining = entries.Sum(e => e.Length);
        foreach (var entry in entries)
        {
            var fitsAll = area.EntriesLength + remaining <= capacity;
            if (!fitsAll && area.EntriesLength + entry.Length + ContinuationEntryLength > capacity)
            {
                area.HasNext = true;
                area = new Area();
                chain.Areas.Add(area);
                capacity = MaxAreaLength;
            }

            area.Entries.Add(entry);
            area.EntriesLength += entry.Length;
            remaining -= entry.Length;
        }

        return chain;
    }

    /// <summary>Writes area <paramref name="index"/> (entries, then CE to the next area).</summary>
    public void WriteArea(int index, Span<byte> destination)
    {
        var area = Areas[index];
        var position = 0;
        foreach (var entry in area.Entries)
        {
            entry.CopyTo(destination[position..]);
            position += entry.Length;
        }

        if (area.HasNext)
        {
            var next = Areas[index + 1];
            var ce = destination.Slice(position, ContinuationEntryLength);
            ce[0] = (byte)'C';
            ce[1] = (byte)'E';
            ce[2] = ContinuationEntryLength;
            ce[3] = 1;
            BothEndian.WriteUInt32(ce[4..], next.Block);
            BothEndian.WriteUInt32(ce[12..], (uint)next.Offset);
            BothEndian.WriteUInt32(ce[20..], (uint)next.Length);
        }
    }
}
