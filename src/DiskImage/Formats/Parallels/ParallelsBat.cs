using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Parallels;

/// <summary>
/// The block allocation table, right after the header: one 32-bit little-endian entry per guest cluster. A header
/// may claim half a billion entries in a small (or sparse) file, so entries are read in pages on first use, past
/// the end of the file they read as zero (as QEMU's reads do), and whole-table walks stream without keeping pages:
/// memory follows what is used, never what the header says.
/// </summary>
internal sealed class ParallelsBat
{
    private const int PageEntries = 16384;
    private readonly IStorage _file;
    private readonly Dictionary<uint, uint[]> _pages = [];

    public ParallelsBat(IStorage file, uint entries)
    {
        _file = file;
        Count = entries;
    }

    public uint Count { get; }

    /// <summary>Entries stored within the file; all after them read as zero (writes extend the file before caching).</summary>
    public uint StoredCount => (uint)Math.Clamp((_file.Length - ParallelsHeader.Size + 3) / 4, 0, Count);

    public uint this[uint index] =>
        index >= Count ? 0
        : _pages.TryGetValue(index / PageEntries, out var cached) ? cached[index % PageEntries]
        : index >= StoredCount ? 0
        : Page(index / PageEntries)[index % PageEntries];

    /// <summary>Sets an entry in memory and in the file.</summary>
    public void Set(uint index, uint value)
    {
        Page(index / PageEntries)[index % PageEntries] = value;
        Span<byte> raw = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(raw, value);
        _file.Write(ParallelsHeader.Size + (4L * index), raw);
    }

    /// <summary>
    /// The entries stored in the file, in order, read in pages that are not kept (the cached ones are used where
    /// present); the zeroes past the end of the file are left out.
    /// </summary>
    public IEnumerable<(uint Index, uint Value)> All()
    {
        var stored = StoredCount;
        for (uint page = 0; (ulong)page * PageEntries < stored; page++)
        {
            var entries = _pages.TryGetValue(page, out var cached) ? cached : Load(page);
            var first = page * PageEntries;
            var n = (int)Math.Min(PageEntries, stored - first);
            for (var i = 0; i < n; i++)
            {
                yield return ((uint)(first + i), entries[i]);
            }
        }
    }

    private uint[] Page(uint page)
    {
        if (!_pages.TryGetValue(page, out var entries))
        {
            entries = Load(page);
            _pages[page] = entries;
        }

        return entries;
    }

    private uint[] Load(uint page)
    {
        var first = (long)page * PageEntries;
        var n = (int)Math.Min(PageEntries, Count - first);
        var raw = new byte[n * 4];
        var start = ParallelsHeader.Size + (first * 4);
        if (start < _file.Length)
        {
            // Past the end of the file the table reads as zeroes.
            _file.ReadAvailable(start, raw);
        }

        var entries = new uint[PageEntries];
        for (var i = 0; i < n; i++)
        {
            entries[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
        }

        return entries;
    }
}
