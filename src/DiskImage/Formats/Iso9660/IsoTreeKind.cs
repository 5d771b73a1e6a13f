namespace DiskImage.Formats.Iso9660;

/// <summary>Which directory tree names come from, in order of preference.</summary>
public enum IsoTreeKind
{
    /// <summary>The primary tree with Rock Ridge names and attributes.</summary>
    RockRidge,

    /// <summary>The Joliet (UCS-2) supplementary tree.</summary>
    Joliet,

    /// <summary>The ISO 9660:1999 enhanced volume's tree.</summary>
    Enhanced,

    /// <summary>The primary tree with plain ISO 9660 names.</summary>
    Iso9660,
}
