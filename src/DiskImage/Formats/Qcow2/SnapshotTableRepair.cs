namespace DiskImage.Formats.Qcow2;

/// <summary>What reading a damaged snapshot table for <c>check -r all</c> dropped, and the lines saying so.</summary>
internal sealed class SnapshotTableRepair
{
    /// <summary>Lines for stderr, in the order QEMU prints them.</summary>
    public List<string> Messages { get; } = [];

    /// <summary>Entries whose extra data was cut to the 1 KiB limit.</summary>
    public int ExtraDataDropped { get; set; }

    /// <summary>Entries dropped off the end of the table.</summary>
    public long SnapshotsDropped { get; set; }
}
