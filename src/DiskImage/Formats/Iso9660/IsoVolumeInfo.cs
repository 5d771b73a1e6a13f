namespace DiskImage.Formats.Iso9660;

/// <summary>What an ISO 9660 image says about itself: identifiers, dates, size, extensions and boot entries.</summary>
public sealed record IsoVolumeInfo
{
    /// <summary>Volume identifier (the label), trailing spaces removed.</summary>
    public required string VolumeId { get; init; }
    /// <summary>System identifier.</summary>
    public required string SystemId { get; init; }
    /// <summary>Publisher identifier.</summary>
    public required string PublisherId { get; init; }
    /// <summary>Data preparer identifier.</summary>
    public required string DataPreparerId { get; init; }
    /// <summary>Application identifier.</summary>
    public required string ApplicationId { get; init; }
    /// <summary>Volume set identifier.</summary>
    public required string VolumeSetId { get; init; }
    /// <summary>Volume creation time, or null when the descriptor leaves it unset.</summary>
    public DateTimeOffset? CreationTime { get; init; }
    /// <summary>Volume modification time, or null when unset.</summary>
    public DateTimeOffset? ModificationTime { get; init; }

    /// <summary>Volume space size in bytes (logical blocks × 2048).</summary>
    public required long VolumeSize { get; init; }

    /// <summary>Joliet level 1-3, or 0 without a Joliet tree.</summary>
    public required int JolietLevel { get; init; }

    /// <summary>Whether the root directory carries Rock Ridge entries.</summary>
    public required bool RockRidge { get; init; }

    /// <summary>An ISO 9660:1999 enhanced volume descriptor is present.</summary>
    public required bool Enhanced { get; init; }

    /// <summary>El Torito boot entries, empty for an image that does not boot.</summary>
    public required IReadOnlyList<ElToritoBootEntry> BootEntries { get; init; }

    /// <summary>Partition table found in the system area of a hybrid image: "mbr", "gpt" or null.</summary>
    public string? SystemAreaPartitioning { get; init; }

    /// <summary>The tree names are read from.</summary>
    public required IsoTreeKind Tree { get; init; }
}
