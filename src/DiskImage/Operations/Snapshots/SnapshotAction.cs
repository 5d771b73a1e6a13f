namespace DiskImage.Operations.Snapshots;

/// <summary>What <c>snapshot</c> does: qemu-img's <c>-l</c>, <c>-c</c>, <c>-a</c> and <c>-d</c>.</summary>
public enum SnapshotAction
{
    List,
    Create,
    Apply,
    Delete,
}
