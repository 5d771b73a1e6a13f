namespace DiskImage.Formats.Iso9660;

/// <summary>One El Torito boot entry the builder writes. The first one becomes the default entry.</summary>
public sealed record IsoBootImage
{
    /// <summary>Path of the boot image inside the ISO; the file must be part of the built tree.</summary>
    public required string ImagePath { get; init; }

    /// <summary>Platform id: 0 = x86 BIOS, 0xEF = UEFI.</summary>
    public byte Platform { get; init; }

    /// <summary>No-emulation boot (the only mode the builder writes).</summary>
    public bool NoEmulation { get; init; } = true;

    /// <summary>512-byte sectors to load; null loads the whole image (capped at 65535).</summary>
    public ushort? LoadSize { get; init; }

    /// <summary>Patch a boot info table (PVD block, file block, length, checksum) into bytes 8-63 of the image copy.</summary>
    public bool BootInfoTable { get; init; }
}
