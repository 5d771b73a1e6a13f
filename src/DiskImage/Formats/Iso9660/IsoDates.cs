using System.Globalization;

namespace DiskImage.Formats.Iso9660;

/// <summary>The two ECMA-119 date forms: 7-byte binary (directory records) and 17-byte text (volume descriptors).</summary>
internal static class IsoDates
{
    public const int ShortLength = 7;
    public const int LongLength = 17;

    /// <summary>Reads a 7-byte recording date; null when it is all zeroes or out of range.</summary>
    public static DateTimeOffset? ReadShort(ReadOnlySpan<byte> field)
    {
        if (field[..ShortLength].IndexOfAnyExcept((byte)0) < 0)
        {
            return null;
        }

        return Make(1900 + field[0], field[1], field[2], field[3], field[4], field[5], 0, (sbyte)field[6]);
    }

    /// <summary>Reads a 17-byte "YYYYMMDDHHMMSScc" + offset date; null when unset or malformed.</summary>
    public static DateTimeOffset? ReadLong(ReadOnlySpan<byte> field)
    {
        Span<int> parts = stackalloc int[7];
        ReadOnlySpan<int> widths = [4, 2, 2, 2, 2, 2, 2];
        var position = 0;
        for (var i = 0; i < widths.Length; i++)
        {
            var value = 0;
            for (var j = 0; j < widths[i]; j++)
            {
                var c = field[position++];
                if (c is < (byte)'0' or > (byte)'9')
                {
                    return null;
                }

                value = (value * 10) + (c - '0');
            }

            parts[i] = value;
        }

        if (parts[0] == 0)
        {
            return null;
        }

        return Make(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6] * 10, (sbyte)field[16]);
    }

    public static void WriteShort(Span<byte> field, DateTimeOffset time)
    {
        var utc = Clamp(time).UtcDateTime;
        field[0] = (byte)(utc.Year - 1900);
        field[1] = (byte)utc.Month;
        field[2] = (byte)utc.Day;
        field[3] = (byte)utc.Hour;
        field[4] = (byte)utc.Minute;
        field[5] = (byte)utc.Second;
        field[6] = 0;
    }

    public static void WriteLong(Span<byte> field, DateTimeOffset? time)
    {
        if (time is null)
        {
            "0000000000000000"u8.CopyTo(field);
            field[16] = 0;
            return;
        }

        var utc = time.Value.UtcDateTime;
        var text = utc.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + (utc.Millisecond / 10).ToString("00", CultureInfo.InvariantCulture);
        for (var i = 0; i < 16; i++)
        {
            field[i] = (byte)text[i];
        }

        field[16] = 0;
    }

    private static DateTimeOffset Clamp(DateTimeOffset time)
    {
        var min = new DateTimeOffset(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var max = new DateTimeOffset(2155, 12, 31, 23, 59, 59, TimeSpan.Zero);
        return time < min ? min : time > max ? max : time;
    }

    private static DateTimeOffset? Make(int year, int month, int day, int hour, int minute, int second, int millisecond, sbyte quarterHours)
    {
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Clamp(year, 1, 9999), month)
            || hour > 23 || minute > 59 || second > 60 || year is < 1 or > 9999 || quarterHours is < -48 or > 52)
        {
            return null;
        }

        var offset = TimeSpan.FromMinutes(quarterHours * 15);
        return new DateTimeOffset(year, month, day, hour, minute, Math.Min(second, 59), Math.Min(millisecond, 999), offset);
    }
}
