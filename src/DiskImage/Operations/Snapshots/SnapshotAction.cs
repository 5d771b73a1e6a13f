namespace DiskImage.Operations.Snapshots;

/// <summary>What <c>snapshot</c> does: qemu-img's <c>-l</c>, <c>-c</c>, <c>-a</c> and <c>-d</c>.</summary>
public enum SnapshotAction
{
    /// <summary>List the snapshots (<c>-l</c>); the image is opened read-only.</summary>
    List,
    /// <summary>Take a snapshot of the current state (<c>-c</c>).</summary>
    Create,
    /// <summary>Revert the image to a snapshot (<c>-a</c>).</summary>
    Apply,
    /// <summary>Delete a snapshot (<c>-d</c>).</summary>
    Delete,
}
