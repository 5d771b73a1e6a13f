using System.Globalization;
using DiskImage.Formats;
using DiskImage.Options;

namespace DiskImage.Cli.Rendering;

/// <summary>qemu-img's snapshot table (<c>info</c>'s "Snapshot list:" and <c>snapshot -l</c>).</summary>
internal static class SnapshotTable
{
    public static void Write(TextWriter output, IReadOnlyList<SnapshotInfo> snapshots)
    {
        output.WriteLine($"{"ID",-10}{"TAG",-17}{"VM SIZE",8}{"DATE",20}{"VM CLOCK",13}{"ICOUNT",11}");
        foreach (var snapshot in snapshots)
        {
            var date = DateTimeOffset.FromUnixTimeSeconds(snapshot.DateSeconds).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            var clock = snapshot.VmClockNanoseconds;
            var seconds = clock / 1_000_000_000;
            var vmClock = string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:00}:{seconds / 60 % 60:00}:{seconds % 60:00}.{clock / 1_000_000 % 1000:000}");
            var icount = snapshot.Icount?.ToString(CultureInfo.InvariantCulture) ?? "";
            output.WriteLine($"{snapshot.Id,-9} {snapshot.Name,-16} {SizeText.ToHuman(snapshot.VmStateSize),8}{date,20}{vmClock,13}{icount,11}");
        }
    }
}
