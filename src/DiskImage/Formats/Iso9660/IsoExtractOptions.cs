namespace DiskImage.Formats.Iso9660;

/// <summary>What <see cref="IsoExtractor"/> restores and where.</summary>
public sealed record IsoExtractOptions
{
    /// <summary>Directory everything is written under; created when missing. Nothing is written outside it.</summary>
    public required string TargetDirectory { get; init; }

    /// <summary>Absolute paths inside the image to extract (each keeps its path under the target); empty means everything.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    /// <summary>Restore Rock Ridge permission bits.</summary>
    public bool RestoreModes { get; init; } = true;

    /// <summary>Restore modification times of files and directories.</summary>
    public bool RestoreTimes { get; init; } = true;
}
