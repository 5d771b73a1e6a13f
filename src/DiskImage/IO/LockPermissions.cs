namespace DiskImage.IO;

/// <summary>
/// QEMU's block permissions (<c>BLK_PERM_*</c>), one bit each. Bit <c>i</c> is locked at byte
/// <c>100 + i</c> of the image file while held, and at byte <c>200 + i</c> while refused to others.
/// </summary>
[Flags]
public enum LockPermissions
{
    /// <summary>No permission.</summary>
    None = 0,

    /// <summary>Reads that see consistent data (QEMU's "consistent read").</summary>
    ConsistentRead = 0x01,

    /// <summary>Writes that change what the image reads as (QEMU's "write").</summary>
    Write = 0x02,

    /// <summary>Writes that leave what the image reads as unchanged (QEMU's "write unchanged").</summary>
    WriteUnchanged = 0x04,

    /// <summary>Changing the file's size (QEMU's "resize").</summary>
    Resize = 0x08,

    /// <summary>Every permission.</summary>
    All = ConsistentRead | Write | WriteUnchanged | Resize,
}

/// <summary>The names QEMU gives the permissions in its lock errors.</summary>
internal static class LockPermissionNames
{
    public static string Name(LockPermissions permission) => permission switch
    {
        LockPermissions.ConsistentRead => "consistent read",
        LockPermissions.Write => "write",
        LockPermissions.WriteUnchanged => "write unchanged",
        LockPermissions.Resize => "resize",
        _ => permission.ToString(),
    };
}
