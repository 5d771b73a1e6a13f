using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Cloop;

/// <summary>
/// The table of <c>count + 1</c> block offsets after the header. A header may claim 67 million blocks in a small file,
/// so the table is checked at open by one streaming pass (QEMU's checks, in its order), and afterwards read in pages
/// on first use; past the end of the file the entries read as zero, as QEMU's reads do. Memory follows what is used,
/// never what the header says.
/// </summary>
internal sealed class CloopOffsets
{
    private const int PageEntries = 8192;
    private readonly IStorage _file;
    private readonly Dictionary<long, ulong[]> _pages = [];
    private readonly Lock _lock = new();

    private CloopOffsets(IStorage file, long count)
    {
        _file = file;
        Count = count;
    }

    /// <summary>Entries in the table: one more than the blocks.</summary>
    public long Count { get; }

    /// <summary>
    /// Checks the table of <paramref name="blocks"/> blocks as QEMU's open does: offsets never decrease and no block
    /// is larger than QEMU allows. Throws <see cref="InvalidImageException"/> with QEMU's words otherwise.
    /// </summary>
    public static CloopOffsets Load(IStorage file, uint blocks)
    {
        var table = new CloopOffsets(file, blocks + 1L);
        ulong previous = 0;
        for (long page = 0; page * PageEntries < table.Count; page++)
        {
            var first = page * PageEntries;
            if (table.EntryAt(first) >= file.Length && previous == 0)
            {
                // From here on every entry reads as zero, as the one before: nothing left to check.
                break;
            }

            var entries = table.Load(page);
            var n = (int)Math.Min(PageEntries, table.Count - first);
            for (var i = 0; i < n; i++)
            {
                var index = first + i;
                var value = entries[i];
                if (index > 0)
                {
                    if (value < previous)
                    {
                        throw new InvalidImageException($"offsets not monotonically increasing at index {index}, image file is corrupt");
                    }

                    if (value - previous > CloopHeader.MaxCompressedSize)
                    {
                        throw new InvalidImageException($"invalid compressed block size at index {index}, image file is corrupt");
                    }
                }

                previous = value;
            }
        }

        return table;
    }

    /// <summary>The file offsets where block <paramref name="block"/> starts and ends.</summary>
    public (ulong Start, ulong End) Block(long block)
    {
        lock (_lock)
        {
            return (this[block], this[block + 1]);
        }
    }

    private ulong this[long index]
    {
        get
        {
            var page = index / PageEntries;
            if (!_pages.TryGetValue(page, out var entries))
            {
                entries = Load(page);
                _pages[page] = entries;
            }

            return entries[index % PageEntries];
        }
    }

    private long EntryAt(long index) => CloopHeader.OffsetsStart + (index * 8);

    private ulong[] Load(long page)
    {
        var first = page * PageEntries;
        var n = (int)Math.Min(PageEntries, Count - first);
        var raw = new byte[n * 8];
        _file.Read(EntryAt(first), raw);

        var entries = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            entries[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return entries;
    }
}
