namespace DiskImage.Formats;

/// <summary>
/// Implemented by images that keep a VM state area (qcow2: QEMU stores a saved VM's state in the image's guest
/// address space, past the virtual disk, where internal snapshots capture it with the disk). Positions count from
/// the start of that area.
/// </summary>
internal interface IVmStateArea
{
    /// <summary>Reads VM state bytes; never written parts read as zeroes.</summary>
    void ReadVmState(long position, Span<byte> buffer);

    /// <summary>Writes VM state bytes, growing the image's tables as needed.</summary>
    void WriteVmState(long position, ReadOnlySpan<byte> data);
}
