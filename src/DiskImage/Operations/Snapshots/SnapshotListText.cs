using System.Globalization;
using System.Text;
using DiskImage.Formats;

namespace DiskImage.Operations.Snapshots;

/// <summary>The snapshot table as <c>qemu-img snapshot -l</c> and <c>qemu-img info</c> print it.</summary>
public static class SnapshotListText
{
    /// <summary>"Snapshot list:", the column header, one line per snapshot (empty text when there are none).</summary>
    public static string Format(IReadOnlyList<SnapshotInfo> snapshots)
    {
        if (snapshots.Count == 0)
        {
            return "";
        }

        var text = new StringBuilder();
        text.Append("Snapshot list:\n");
        text.Append(CultureInfo.InvariantCulture, $"{"ID",-10}{"TAG",-17}{"VM SIZE",8}{"DATE",20}{"VM CLOCK",13}{"ICOUNT",11}\n");
        foreach (var snapshot in snapshots)
        {
            text.Append(Line(snapshot)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>One row, with qemu's column widths (date in local time, as qemu-img prints it).</summary>
    public static string Line(SnapshotInfo snapshot)
    {
        var date = DateTimeOffset.FromUnixTimeSeconds(snapshot.DateSeconds).ToLocalTime();
        var seconds = snapshot.VmClockNanoseconds / 1_000_000_000;
        var clock = string.Create(CultureInfo.InvariantCulture,
            $"{seconds / 3600:00}:{seconds / 60 % 60:00}:{seconds % 60:00}.{snapshot.VmClockNanoseconds / 1_000_000 % 1000:000}");
        var icount = snapshot.Icount is { } value ? value.ToString(CultureInfo.InvariantCulture) : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{snapshot.Id,-9} {snapshot.Name,-16} {SizeToText(snapshot.VmStateSize),8}{date.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),20}{clock,13}{icount,11}");
    }

    /// <summary>qemu's size_to_str: three significant digits and a binary unit.</summary>
    public static string SizeToText(long value)
    {
        string[] suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        var unit = 0;
        var scaled = (double)value;
        // qemu switches unit once the value reaches 1000 of the smaller one (then shown as 0.98 of the next).
        while (unit < suffixes.Length - 1 && scaled >= 1000)
        {
            scaled /= 1024;
            unit++;
        }

        return $"{scaled.ToString("G3", CultureInfo.InvariantCulture)} {suffixes[unit]}B";
    }
}
