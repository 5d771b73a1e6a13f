namespace DiskImage.Formats.Iso9660;

/// <summary>Volume descriptor type codes (ECMA-119 8.1.1).</summary>
internal enum VolumeDescriptorType : byte
{
    BootRecord = 0,
    Primary = 1,
    Supplementary = 2,
    Partition = 3,
    Terminator = 255,
}
