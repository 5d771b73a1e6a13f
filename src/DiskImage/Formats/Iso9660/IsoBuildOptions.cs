namespace DiskImage.Formats.Iso9660;

/// <summary>What <see cref="IsoBuilder"/> writes besides the files: identifiers, extensions, boot entries and dates.</summary>
public sealed record IsoBuildOptions
{
    /// <summary>Volume id (32 characters at most), kept as given, lowercase included, as genisoimage does.</summary>
    public string VolumeId { get; init; } = "CDROM";

    /// <summary>System identifier of the primary descriptor (<c>-sysid</c>).</summary>
    public string SystemId { get; init; } = "LINUX";
    /// <summary>Publisher identifier (<c>-publisher</c>).</summary>
    public string PublisherId { get; init; } = "";
    /// <summary>Data preparer identifier (<c>-p</c>).</summary>
    public string DataPreparerId { get; init; } = "";
    /// <summary>Application identifier (<c>-A</c>).</summary>
    public string ApplicationId { get; init; } = "DISKIMG";

    /// <summary>Add a Joliet tree (<c>-J</c>).</summary>
    public bool Joliet { get; init; }

    /// <summary>Rock Ridge attributes (<c>-R</c> or <c>-r</c>).</summary>
    public IsoRockRidgeMode RockRidge { get; init; } = IsoRockRidgeMode.None;

    /// <summary>
    /// Fixed time for reproducible output: the volume dates, and an upper bound for file times
    /// (later ones are clamped, access times follow modification times).
    /// </summary>
    public DateTimeOffset? SourceDateEpoch { get; init; }

    /// <summary>El Torito entries; empty for a non-bootable image.</summary>
    public IReadOnlyList<IsoBootImage> BootImages { get; init; } = [];

    /// <summary>Where the boot catalog appears in the tree (<c>-c</c>); null keeps it hidden.</summary>
    public string? BootCatalogPath { get; init; }
}
