using System.Buffers.Binary;
using System.Numerics;

namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>
/// A bitmap held in memory while the image is open for writing: one bit per granule, set by every write,
/// zero write and discard while the bitmap is enabled. Thread-safe: bits are set with atomic ORs.
/// </summary>
internal sealed class Qcow2DirtyBitmap
{
    private ulong[] _words;

    public Qcow2DirtyBitmap(string name, int granularityBits, bool enabled, long imageLength)
    {
        Name = name;
        GranularityBits = granularityBits;
        Enabled = enabled;
        Length = imageLength;
        _words = new ulong[Qcow2BitmapLimits.DataBytes(imageLength, granularityBits) / 8];
    }

    public Qcow2DirtyBitmap(Qcow2Bitmap stored, long imageLength)
        : this(stored.Name, stored.GranularityBits, stored.Auto, imageLength) => Stored = stored;

    public string Name { get; }

    /// <summary>The directory entry as it was read at open (its table is freed once the new one is stored); null for a bitmap added since.</summary>
    public Qcow2Bitmap? Stored { get; set; }

    public int GranularityBits { get; }

    public long Granularity => 1L << GranularityBits;

    /// <summary>Enabled bitmaps track writes (the directory's <c>auto</c> flag).</summary>
    public bool Enabled { get; set; }

    /// <summary>Bytes of guest data the bitmap covers (the image's size: QEMU's bitmap size).</summary>
    public long Length { get; private set; }

    public void MarkDirty(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        var first = offset >> GranularityBits;
        var last = (offset + length - 1) >> GranularityBits;
        var words = _words;
        for (var bit = first; bit <= last && (bit >> 6) < words.Length;)
        {
            var index = (int)(bit >> 6);
            var lastInWord = Math.Min(last, ((long)index << 6) + 63);
            var count = (int)(lastInWord - bit + 1);
            var mask = count == 64 ? ulong.MaxValue : ((1UL << count) - 1) << (int)(bit & 63);
            if ((Volatile.Read(ref words[index]) & mask) != mask)
            {
                Interlocked.Or(ref words[index], mask);
            }

            bit = lastInWord + 1;
        }
    }

    /// <summary>Every granule clean (QEMU's clear of a bitmap).</summary>
    public void Clear() => Array.Clear(_words);

    /// <summary>
    /// Sets every granule that overlaps a dirty granule of <paramref name="source"/> (QEMU's merge; the
    /// granularities may differ). Both bitmaps cover the same length.
    /// </summary>
    public void Merge(Qcow2DirtyBitmap source, CancellationToken cancellationToken = default)
    {
        if (source.GranularityBits == GranularityBits)
        {
            var words = _words;
            for (var i = 0; i < words.Length && i < source._words.Length; i++)
            {
                if ((i & 0xffff) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var bits = Volatile.Read(ref source._words[i]);
                if (bits != 0)
                {
                    Interlocked.Or(ref words[i], bits);
                }
            }

            return;
        }

        foreach (var (offset, length) in source.DirtyRanges(cancellationToken))
        {
            MarkDirty(offset, length);
        }
    }

    /// <summary>The dirty byte ranges in ascending order, each as long as its run of dirty granules (clipped to <see cref="Length"/>).</summary>
    public IEnumerable<(long Offset, long Length)> DirtyRanges(CancellationToken cancellationToken = default)
    {
        var granules = (Length + Granularity - 1) >> GranularityBits;
        long start = -1;
        for (long bit = 0; bit < granules;)
        {
            var index = (int)(bit >> 6);
            if ((index & 0xffff) == 0 && (bit & 63) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var word = Volatile.Read(ref _words[index]) >> (int)(bit & 63);
            var dirty = (word & 1) != 0;
            // Skip the whole run of equal bits within this word.
            var run = dirty ? BitOperations.TrailingZeroCount(~word) : (word == 0 ? 64 : BitOperations.TrailingZeroCount(word));
            var next = Math.Min(granules, Math.Min(bit + run, ((long)index + 1) << 6));
            if (dirty && start < 0)
            {
                start = bit;
            }
            else if (!dirty && start >= 0)
            {
                yield return Range(start, bit);
                start = -1;
            }

            bit = next;
        }

        if (start >= 0)
        {
            yield return Range(start, granules);
        }

        (long, long) Range(long from, long to)
        {
            var offset = from << GranularityBits;
            return (offset, Math.Min(Length, to << GranularityBits) - offset);
        }
    }

    /// <summary>The image's size changed: granules past the end go, new ones start clean (QEMU's truncate of a bitmap).</summary>
    public void Resize(long imageLength)
    {
        var words = new ulong[Qcow2BitmapLimits.DataBytes(imageLength, GranularityBits) / 8];
        Array.Copy(_words, words, Math.Min(words.Length, _words.Length));
        var granules = (imageLength + (1L << GranularityBits) - 1) >> GranularityBits;
        if (words.Length > 0 && (granules & 63) != 0)
        {
            words[^1] &= (1UL << (int)(granules & 63)) - 1;
        }

        _words = words;
        Length = imageLength;
    }

    /// <summary>Fills the bits from serialized data (64-bit little-endian words), <paramref name="byteOffset"/> bytes in.</summary>
    public void Load(long byteOffset, ReadOnlySpan<byte> data)
    {
        var firstWord = (int)(byteOffset / 8);
        var count = Math.Min(data.Length / 8, _words.Length - firstWord);
        for (var i = 0; i < count; i++)
        {
            _words[firstWord + i] = BinaryPrimitives.ReadUInt64LittleEndian(data[(i * 8)..]);
        }
    }

    /// <summary>Sets every bit of the words covered by <paramref name="byteOffset"/> and <paramref name="byteCount"/> (an all-ones table entry).</summary>
    public void LoadOnes(long byteOffset, long byteCount)
    {
        var firstWord = (int)(byteOffset / 8);
        var end = (int)Math.Min(_words.Length, (byteOffset + byteCount) / 8);
        _words.AsSpan(firstWord, Math.Max(0, end - firstWord)).Fill(ulong.MaxValue);
    }

    /// <summary>Bytes of serialized data.</summary>
    public long DataBytes => _words.LongLength * 8;

    /// <summary>Writes the serialized bytes from <paramref name="byteOffset"/> into <paramref name="buffer"/>; false when all are zero.</summary>
    public bool Serialize(long byteOffset, Span<byte> buffer)
    {
        buffer.Clear();
        var firstWord = (int)(byteOffset / 8);
        var count = (int)Math.Min(buffer.Length / 8, _words.Length - firstWord);
        var any = false;
        for (var i = 0; i < count; i++)
        {
            var word = Volatile.Read(ref _words[firstWord + i]);
            any |= word != 0;
            BinaryPrimitives.WriteUInt64LittleEndian(buffer[(i * 8)..], word);
        }

        return any;
    }

    /// <summary>
    /// The first dirty run in <c>[start, end)</c> (clipped to <see cref="Length"/>), as QEMU's
    /// <c>hbitmap_next_dirty_area</c> finds it: it starts at <paramref name="start"/> when that granule is dirty, and
    /// is at most <paramref name="maxLength"/> bytes long. False when the range holds nothing dirty.
    /// </summary>
    public bool NextDirtyArea(long start, long end, long maxLength, out long dirtyStart, out long dirtyLength)
    {
        dirtyStart = dirtyLength = 0;
        end = Math.Min(end, Length);
        if (start < 0 || start >= end)
        {
            return false;
        }

        var lastGranule = (end - 1) >> GranularityBits;
        var first = FindBit(start >> GranularityBits, lastGranule, dirty: true);
        if (first < 0)
        {
            return false;
        }

        dirtyStart = Math.Max(start, first << GranularityBits);
        var limit = dirtyStart + Math.Min(end - dirtyStart, maxLength);
        var clean = FindBit(first, (limit - 1) >> GranularityBits, dirty: false);
        dirtyLength = (clean < 0 ? limit : Math.Min(limit, clean << GranularityBits)) - dirtyStart;
        return true;
    }

    /// <summary>The first granule in <c>[from, to]</c> whose bit is set (or clear), or -1.</summary>
    private long FindBit(long from, long to, bool dirty)
    {
        var words = _words;
        for (var index = from >> 6; index <= (to >> 6) && index < words.Length; index++)
        {
            var word = Volatile.Read(ref words[index]);
            if (!dirty)
            {
                word = ~word;
            }

            if (index == from >> 6)
            {
                word &= ulong.MaxValue << (int)(from & 63);
            }

            if (word != 0)
            {
                var bit = (index << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
                return bit <= to ? bit : -1;
            }
        }

        return -1;
    }
}
