namespace DiskImage.Operations.Conversion;

/// <summary>Finds all-zero units in a buffer with the vectorized <c>IndexOfAnyExcept</c>.</summary>
internal static class ZeroScan
{
    /// <summary>
    /// Marks each <paramref name="unit"/>-sized slice of <paramref name="data"/> (the last may be short)
    /// as zero or not, in <paramref name="isZero"/>.
    /// </summary>
    public static void MarkZeroUnits(ReadOnlySpan<byte> data, int unit, Span<bool> isZero)
    {
        var position = 0;
        while (position < data.Length)
        {
            var found = data[position..].IndexOfAnyExcept((byte)0);
            var firstUnit = position / unit;
            if (found < 0)
            {
                isZero[firstUnit..UnitCount(data.Length, unit)].Fill(true);
                return;
            }

            var dataUnit = (position + found) / unit;
            isZero[firstUnit..dataUnit].Fill(true);
            isZero[dataUnit] = false;
            position = (dataUnit + 1) * unit;
        }
    }

    public static int UnitCount(int length, int unit) => (length + unit - 1) / unit;

    /// <summary>
    /// Decides, as qemu-img convert does for a run of source data, which sectors of the run
    /// <c>[runStart, runEnd)</c> of <paramref name="isZero"/> (one flag a 512-byte sector, <paramref name="firstSector"/>
    /// the target sector of flag 0) are written as data and which are left as zeroes. A data run's end is moved up to
    /// the next multiple of <paramref name="alignment"/> sectors (the zero sectors there are written too), a zero run
    /// that ends in the middle of an alignment block gives up that part to the data after it, and zero runs shorter
    /// than <paramref name="minimum"/> sectors between data are written as data. On return the flags say what to do:
    /// every sector still marked zero is left out, whatever the length of its run.
    /// </summary>
    public static void AlignDataRun(Span<bool> isZero, int runStart, int runEnd, long firstSector, int alignment, int minimum)
    {
        var position = runStart;
        while (position < runEnd)
        {
            var (isData, count) = NextWrite(isZero, position, runEnd, firstSector, alignment, minimum);
            isZero.Slice(position, count).Fill(!isData);
            position += count;
        }
    }

    /// <summary>One write: a data run with the short zero runs inside it, or a zero run.</summary>
    private static (bool IsData, int Count) NextWrite(ReadOnlySpan<bool> isZero, int start, int end, long firstSector, int alignment, int minimum)
    {
        minimum = Math.Min(minimum, end - start);
        var (isData, count) = NextRun(isZero, start, end, firstSector, alignment);
        if (!isData)
        {
            return (false, count);
        }

        var used = count;
        var position = start + count;
        while (position < end)
        {
            (isData, count) = NextRun(isZero, position, end, firstSector, alignment);
            position += count;
            if (isData)
            {
                used = position - start;
            }
            else if (count >= minimum)
            {
                break;
            }
        }

        return (true, used);
    }

    /// <summary>The run of like sectors at <paramref name="start"/>, with its end moved to the alignment.</summary>
    private static (bool IsData, int Count) NextRun(ReadOnlySpan<bool> isZero, int start, int end, long firstSector, int alignment)
    {
        var zero = isZero[start];
        var rest = isZero[start..end];
        var differs = zero ? rest.IndexOf(false) : rest.IndexOf(true);
        if (differs < 0)
        {
            return (!zero, end - start);
        }

        var count = differs;
        var tail = (int)((firstSector + start + count) & (alignment - 1));
        if (tail != 0)
        {
            if (zero && count <= tail)
            {
                // The data after it rewrites this block anyway: write the zeroes with it.
                zero = false;
            }

            count = zero ? count - tail : Math.Min(count + alignment - tail, end - start);
        }

        return (!zero, count);
    }
}
