namespace DiskImage.Formats.Iso9660;

/// <summary>What an ISO 9660 image says about itself: identifiers, dates, size, extensions and boot entries.</summary>
public sealed record IsoVolumeInfo
{
    public required string VolumeId { get; init; }
    public required string SystemId { get; init; }
    public required string PublisherId { get; init; }
    public required string DataPreparerId { get; init; }
    public required string ApplicationId { get; init; }
    public required string VolumeSetId { get; init; }
    public DateTimeOffset? CreationTime { get; init; }
    public DateTimeOffset? ModificationTime { get; init; }

    /// <summary>Volume space size in bytes (logical blocks × 2048).</summary>
    public required long VolumeSize { get; init; }

    /// <summary>Joliet level 1-3, or 0 without a Joliet tree.</summary>
    public required int JolietLevel { get; init; }

    public required bool RockRidge { get; init; }

    /// <summary>An ISO 9660:1999 enhanced volume descriptor is present.</summary>
    public required bool Enhanced { get; init; }

    public required IReadOnlyList<ElToritoBootEntry> BootEntries { get; init; }

    /// <summary>Partition table found in the system area of a hybrid image: "mbr", "gpt" or null.</summary>
    public string? SystemAreaPartitioning { get; init; }

    /// <summary>The tree names are read from.</summary>
    public required IsoTreeKind Tree { get; init; }
}
