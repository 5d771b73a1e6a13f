namespace DiskImage.Formats.Dmg;

/// <summary>
/// The readable chunks of every "mish" block, in the order the blocks list them (QEMU keeps that order and searches
/// it as if sorted). Sector numbers and file offsets are kept as the file gives them, wrapping included, so that
/// lookups behave as QEMU's.
/// </summary>
internal sealed class DmgChunkTable
{
    /// <summary>
    /// A bound QEMU lacks: a crafted table (a resource fork reaching past the end of the file, which reads as zeroes,
    /// holds millions of empty zero chunks) cannot make the table take more than this many entries.
    /// </summary>
    internal const int MaxChunks = 1 << 21;

    private uint[] _types = new uint[16];
    private ulong[] _sectors = new ulong[16];
    private ulong[] _sectorCounts = new ulong[16];
    private ulong[] _offsets = new ulong[16];
    private uint[] _lengths = new uint[16];

    public int Count { get; private set; }

    /// <summary>The largest compressed chunk, in bytes (at least 1, as QEMU starts it).</summary>
    public uint MaxCompressedSize { get; private set; } = 1;

    /// <summary>The most sectors one decompressed or raw chunk fills (at least 1): the chunk buffer's size.</summary>
    public uint MaxSectorsPerChunk { get; private set; } = 1;

    public uint Type(int chunk) => _types[chunk];

    public ulong Sector(int chunk) => _sectors[chunk];

    public ulong SectorCount(int chunk) => _sectorCounts[chunk];

    public ulong Offset(int chunk) => _offsets[chunk];

    public uint Length(int chunk) => _lengths[chunk];

    /// <summary>Adds a chunk whose limits were checked (length at most 64 MiB, sector count bounded where it is read).</summary>
    public void Add(uint type, ulong sector, ulong sectorCount, ulong offset, uint length)
    {
        if (Count == MaxChunks)
        {
            throw new ImageAccessException("Cannot allocate memory");
        }

        if (Count == _types.Length)
        {
            var size = Math.Min(Count * 2, MaxChunks);
            Array.Resize(ref _types, size);
            Array.Resize(ref _sectors, size);
            Array.Resize(ref _sectorCounts, size);
            Array.Resize(ref _offsets, size);
            Array.Resize(ref _lengths, size);
        }

        _types[Count] = type;
        _sectors[Count] = sector;
        _sectorCounts[Count] = sectorCount;
        _offsets[Count] = offset;
        _lengths[Count] = length;
        Count++;

        // The buffers a read needs: compressed chunks are read whole, then decompressed whole; raw ones are read whole.
        uint compressed = 0, sectors = 0;
        if (type == DmgChunkType.Zlib)
        {
            compressed = length;
            sectors = (uint)sectorCount;
        }
        else if (type == DmgChunkType.Raw)
        {
            sectors = (length + 511) / 512;
        }

        MaxCompressedSize = Math.Max(MaxCompressedSize, compressed);
        MaxSectorsPerChunk = Math.Max(MaxSectorsPerChunk, sectors);
    }

    /// <summary>Whether <paramref name="sector"/> lies in <paramref name="chunk"/> (false for no chunk).</summary>
    public bool Contains(int chunk, ulong sector) =>
        chunk >= 0 && chunk < Count && _sectors[chunk] <= sector && unchecked(_sectors[chunk] + _sectorCounts[chunk]) > sector;

    /// <summary>
    /// The chunk holding <paramref name="sector"/>, or -1: a binary search over the table as stored (QEMU's, whose
    /// answers for an unsorted table this keeps; a probe one past the last entry finds nothing).
    /// </summary>
    public int Find(ulong sector)
    {
        long low = 0, high = Count;
        while (low <= high)
        {
            var mid = (int)((low + high) / 2);
            if (mid >= Count)
            {
                return -1;
            }

            if (_sectors[mid] > sector)
            {
                if (mid == 0)
                {
                    return -1;
                }

                high = mid - 1;
            }
            else if (unchecked(_sectors[mid] + _sectorCounts[mid]) > sector)
            {
                return mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        return -1;
    }
}
