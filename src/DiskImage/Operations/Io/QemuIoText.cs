using System.Globalization;
using System.Text;

namespace DiskImage.Operations.Io;

/// <summary>qemu-io's ways of printing sizes, times, transfer reports and hex dumps.</summary>
internal static class QemuIoText
{
    private static readonly (double Unit, string Suffix)[] s_units =
    [
        (1L << 60, " EiB"), (1L << 50, " PiB"), (1L << 40, " TiB"), (1L << 30, " GiB"), (1L << 20, " MiB"), (1L << 10, " KiB"),
    ];

    /// <summary>A byte count as qemu-io prints it: <c>512 bytes</c>, <c>4 KiB</c>, <c>1.500 KiB</c>, <c>976.562 KiB</c>.</summary>
    public static string Size(double value)
    {
        var text = value.ToString("F6", CultureInfo.InvariantCulture);
        var suffix = " bytes";
        foreach (var (unit, unitSuffix) in s_units)
        {
            if (value >= unit)
            {
                text = (value / unit).ToString("F3", CultureInfo.InvariantCulture);
                suffix = unitSuffix;
                break;
            }
        }

        // qemu-io cuts a ".000" fraction off.
        var trim = text.IndexOf(".000", StringComparison.Ordinal);
        return (trim >= 0 ? text[..trim] : text) + suffix;
    }

    /// <summary>Elapsed time: <c>00.02 sec</c> under a second, <c>0:00:01.23</c> beyond.</summary>
    public static string Time(TimeSpan elapsed)
    {
        if (elapsed.TotalSeconds < 1)
        {
            return elapsed.TotalSeconds.ToString("00.00", CultureInfo.InvariantCulture) + " sec";
        }

        return FixedTime(elapsed);
    }

    /// <summary>
    /// The report after a transfer: two lines (<c>read 512/512 bytes at offset 0</c> and the timing line),
    /// or with <c>-C</c> one comma-separated line of bytes, ops, time, bytes/sec and ops/sec.
    /// </summary>
    public static IEnumerable<string> Report(string verb, long total, long count, long offset, TimeSpan elapsed, bool machine = false)
    {
        var seconds = elapsed.TotalSeconds;
        var rate = Rate(total, seconds);
        var opsRate = Rate(1, seconds);
        if (machine)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{total},1,{FixedTime(elapsed)},{Fixed3(rate)},{Fixed3(opsRate)}");
            yield break;
        }

        yield return string.Create(CultureInfo.InvariantCulture, $"{verb} {total}/{count} bytes at offset {offset}");
        yield return string.Create(CultureInfo.InvariantCulture,
            $"{Size(total)}, 1 ops; {Time(elapsed)} ({(double.IsInfinity(rate) ? "inf bytes" : Size(rate))}/sec and {(double.IsInfinity(opsRate) ? "inf" : opsRate.ToString("F4", CultureInfo.InvariantCulture))} ops/sec)");
    }

    /// <summary>The two report lines after a transfer of <paramref name="bytes"/>.</summary>
    public static IEnumerable<string> Report(string verb, long bytes, long offset, TimeSpan elapsed) => Report(verb, bytes, bytes, offset, elapsed);

    private static double Rate(double value, double seconds) => seconds > 0 ? value / seconds : double.PositiveInfinity;

    private static string Fixed3(double value) => double.IsInfinity(value) ? "inf" : value.ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>-C's time: always <c>h:mm:ss.ss</c>.</summary>
    private static string FixedTime(TimeSpan elapsed)
    {
        var whole = (long)elapsed.TotalSeconds;
        var seconds = (whole % 60) + (elapsed.TotalSeconds - whole);
        return string.Create(CultureInfo.InvariantCulture, $"{whole / 3600}:{whole / 60 % 60:00}:{seconds:00.00}");
    }

    /// <summary>Hex dump lines: offset, sixteen bytes, then the letters and digits among them.</summary>
    public static IEnumerable<string> Dump(ReadOnlyMemory<byte> data, long offset)
    {
        for (var i = 0; i < data.Length; i += 16)
        {
            var line = data.Span.Slice(i, Math.Min(16, data.Length - i));
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"{offset + i:x8}:  ");
            foreach (var b in line)
            {
                text.Append(CultureInfo.InvariantCulture, $"{b:x2} ");
            }

            text.Append(' ');
            foreach (var b in line)
            {
                text.Append(char.IsAsciiLetterOrDigit((char)b) ? (char)b : '.');
            }

            yield return text.ToString();
        }
    }
}
