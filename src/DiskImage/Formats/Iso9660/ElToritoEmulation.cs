namespace DiskImage.Formats.Iso9660;

/// <summary>El Torito boot media types (the low bits of an entry's media byte).</summary>
public enum ElToritoEmulation
{
    NoEmulation = 0,
    Floppy12M = 1,
    Floppy144M = 2,
    Floppy288M = 3,
    HardDisk = 4,
}
