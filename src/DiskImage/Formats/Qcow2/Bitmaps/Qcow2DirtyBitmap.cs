using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>
/// A bitmap held in memory while the image is open for writing: one bit per granule, set by every write,
/// zero write and discard while the bitmap is enabled. Thread-safe: bits are set with atomic ORs.
/// </summary>
internal sealed class Qcow2DirtyBitmap
{
    private ulong[] _words;

    public Qcow2DirtyBitmap(Qcow2Bitmap stored, long imageLength)
    {
        Stored = stored;
        _words = new ulong[Qcow2BitmapLimits.DataBytes(imageLength, stored.GranularityBits) / 8];
    }

    /// <summary>The directory entry as it was read at open (its table is freed once the new one is stored).</summary>
    public Qcow2Bitmap Stored { get; }

    public int GranularityBits => Stored.GranularityBits;

    /// <summary>Enabled bitmaps track writes (the directory's <c>auto</c> flag).</summary>
    public bool Enabled => Stored.Auto;

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
}
