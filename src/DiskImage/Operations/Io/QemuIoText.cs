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

        var whole = (long)elapsed.TotalSeconds;
        var seconds = (whole % 60) + (elapsed.TotalSeconds - whole);
        return string.Create(CultureInfo.InvariantCulture, $"{whole / 3600}:{whole / 60 % 60:00}:{seconds:00.00}");
    }

    /// <summary>The two report lines after a transfer.</summary>
    public static IEnumerable<string> Report(string verb, long bytes, long offset, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        yield return string.Create(CultureInfo.InvariantCulture, $"{verb} {bytes}/{bytes} bytes at offset {offset}");
        yield return string.Create(CultureInfo.InvariantCulture,
            $"{Size(bytes)}, 1 ops; {Time(elapsed)} ({Size(bytes / seconds)}/sec and {1 / seconds:F4} ops/sec)");
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
