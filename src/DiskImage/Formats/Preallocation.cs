namespace DiskImage.Formats;

/// <summary>qemu-img's <c>preallocation</c> modes.</summary>
public enum Preallocation
{
    /// <summary>Thin: nothing allocated up front.</summary>
    Off,

    /// <summary>qcow2 only: all metadata written, data clusters reserved but not written.</summary>
    Metadata,

    /// <summary>Space reserved with <c>fallocate</c>; reads as zeroes.</summary>
    Falloc,

    /// <summary>Space allocated by writing zeroes.</summary>
    Full,
}
