namespace DiskImage.Formats.Iso9660;

/// <summary>One El Torito boot entry: the default entry or a section entry.</summary>
public sealed record ElToritoBootEntry
{
    /// <summary>Platform id of the section (0 = x86 BIOS, 1 = PowerPC, 2 = Mac, 0xEF = UEFI).</summary>
    public required byte Platform { get; init; }

    /// <summary>Boot indicator 0x88.</summary>
    public required bool Bootable { get; init; }

    /// <summary>The media the boot image pretends to be.</summary>
    public required ElToritoEmulation Emulation { get; init; }

    /// <summary>Real-mode load segment; 0 means the BIOS default 0x7C0.</summary>
    public required ushort LoadSegment { get; init; }

    /// <summary>Number of 512-byte virtual sectors loaded.</summary>
    public required ushort SectorCount { get; init; }

    /// <summary>Logical block (2048 bytes) of the boot image.</summary>
    public required uint Lba { get; init; }

    /// <summary>System type byte (the partition type of a hard-disk image; 0 otherwise).</summary>
    public required byte SystemType { get; init; }

    /// <summary>Short name of the platform as xorriso prints it.</summary>
    public string PlatformName => Platform switch
    {
        0 => "BIOS",
        1 => "PPC",
        2 => "Mac",
        0xEF => "UEFI",
        _ => $"0x{Platform:x2}",
    };

    /// <summary>Emulation as xorriso prints it.</summary>
    public string EmulationName => Emulation switch
    {
        ElToritoEmulation.NoEmulation => "none",
        ElToritoEmulation.Floppy12M => "fd1.2",
        ElToritoEmulation.Floppy144M => "fd1.4",
        ElToritoEmulation.Floppy288M => "fd2.8",
        ElToritoEmulation.HardDisk => "hd",
        _ => "unknown",
    };
}
