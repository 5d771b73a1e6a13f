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
}
