namespace DiskImage.IO;

/// <summary>What a run of guest-visible bytes holds, as block status reports it.</summary>
public enum ExtentKind
{
    /// <summary>Allocated and may hold non-zero bytes; must be read.</summary>
    Data,

    /// <summary>Reads as zeroes and is known to (an explicit zero cluster, a hole punched in a file).</summary>
    Zero,

    /// <summary>Not allocated at this layer: reads from the backing image, or as zeroes when there is none.</summary>
    Unallocated,
}
