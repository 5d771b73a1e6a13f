namespace DiskImage.Formats.Iso9660;

/// <summary>El Torito boot media types (the low bits of an entry's media byte).</summary>
public enum ElToritoEmulation
{
    /// <summary>The image is loaded as is (<c>-no-emul-boot</c>).</summary>
    NoEmulation = 0,
    /// <summary>A 1.2 MB floppy.</summary>
    Floppy12M = 1,
    /// <summary>A 1.44 MB floppy.</summary>
    Floppy144M = 2,
    /// <summary>A 2.88 MB floppy.</summary>
    Floppy288M = 3,
    /// <summary>A hard disk with one partition (<c>-hard-disk-boot</c>).</summary>
    HardDisk = 4,
}
